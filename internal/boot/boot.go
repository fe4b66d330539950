// Package boot opens what every command needs, wired the one way Rolegate runs: the catalog,
// the database with its system roles, the permission engine kept current after every
// access-changing write, the lock-out guard, sessions, sign-in and mail. It knows nothing of
// HTTP, so the web package's own tests open exactly what serve opens.
package boot

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"time"

	"github.com/rolegate/rolegate/internal/audit"
	"github.com/rolegate/rolegate/internal/auth"
	"github.com/rolegate/rolegate/internal/config"
	"github.com/rolegate/rolegate/internal/mail"
	"github.com/rolegate/rolegate/internal/rbac"
	"github.com/rolegate/rolegate/internal/settings"
	"github.com/rolegate/rolegate/internal/store"
)

// LoadCatalog returns the catalog cfg names (the built-in one by default). A file that is
// malformed, or lacks the administration permissions Rolegate's own pages need, is refused.
func LoadCatalog(cfg config.Config) (*rbac.Catalog, error) {
	if cfg.Catalog == "" {
		return rbac.DefaultCatalog(), nil
	}
	b, err := os.ReadFile(cfg.Catalog)
	if err != nil {
		return nil, fmt.Errorf("catalog: %w", err)
	}
	c, err := rbac.ParseCatalog(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", cfg.Catalog, err)
	}
	for _, k := range rbac.AdminPermissions {
		if !c.Has(k) {
			return nil, fmt.Errorf("%s: the catalog must include %q: Rolegate's own pages are guarded by it", cfg.Catalog, k)
		}
	}
	return c, nil
}

// StoreOptions are the store settings cfg names, so every command that opens the database
// opens it with the same audit key file.
func StoreOptions(cfg config.Config) store.Options {
	return store.Options{AuditKeyFile: cfg.AuditKeyFile}
}

// OpenStore opens the database with the catalog's system roles seeded and the permission
// engine loaded and kept current after every access-changing write.
func OpenStore(ctx context.Context, cfg config.Config, logger *slog.Logger) (*store.Store, *rbac.Catalog, *rbac.Engine, error) {
	cat, err := LoadCatalog(cfg)
	if err != nil {
		return nil, nil, nil, err
	}
	st, err := store.OpenWith(ctx, cfg.DB, StoreOptions(cfg))
	if err != nil {
		return nil, nil, nil, err
	}
	if err := st.SeedSystemRoles(ctx, rbac.SystemRoles(cat)); err != nil {
		st.Close()
		return nil, nil, nil, err
	}
	engine, err := rbac.NewEngine(ctx, cat, st.LoadAccess, func(w []string) {
		for _, msg := range w {
			logger.Warn("unknown permission", "detail", msg)
		}
	})
	if err != nil {
		st.Close()
		return nil, nil, nil, err
	}
	engine.FollowChanges(st.LoadChanges)
	engine.SetClock(&rbac.Clock{Now: st.Now, Zone: portalZone(st)})
	st.GuardAccess(func(ctx context.Context, tx store.AccessTx) (func(), error) {
		// The state before the change is the last committed one: the current snapshot, once
		// it has caught up with a commit not yet adopted or another process's (a read beside
		// this write transaction sees exactly that). The next one is it with what this
		// transaction touched replaced, and becomes current once it commits.
		if err := engine.CatchUp(ctx, tx.Version()-1); err != nil {
			return nil, err
		}
		before := engine.Now()
		d, err := tx.Changes(ctx, before.Version())
		if err != nil {
			return nil, err
		}
		next := before.Apply(d)
		if err := rbac.CheckLockoutSnapshots(before, next); err != nil {
			return nil, err
		}
		// Giving or taking Administration asks for a fresh second step of whoever has one
		// older than ten minutes; the comparison runs only then.
		if audit.ActorFrom(ctx).StepUpDue && rbac.ChangesAdministration(before, next) {
			return nil, audit.ErrStepUp
		}
		return func() { engine.Adopt(next) }, nil
	})
	st.OnAccessChange(func(ctx context.Context) {
		if err := engine.Reload(context.WithoutCancel(ctx)); err != nil {
			logger.Error("reload permissions", "err", err)
		}
	})
	return st, cat, engine, nil
}

// Parts are the opened pieces a transport is built on.
type Parts struct {
	Store    *store.Store
	Catalog  *rbac.Catalog
	Access   *rbac.Engine
	Sessions *auth.Sessions
	Auth     *auth.Service
	// TwoStep is the second step of signing in (authenticator codes, recovery codes).
	TwoStep *auth.TwoStep
	// Passkeys are passkeys and security keys, as the second step or alone.
	Passkeys *auth.Passkeys
	// SSO is single sign-on through the practice's identity provider; nil when not configured.
	SSO *auth.SSO
	// Mail sends invitation links; nil when SMTP is not configured.
	Mail mail.Notifier
}

// Open opens the database and everything built on it. The caller closes Parts.Store.
func Open(ctx context.Context, cfg config.Config, logger *slog.Logger) (*Parts, error) {
	st, cat, engine, err := OpenStore(ctx, cfg, logger)
	if err != nil {
		return nil, err
	}
	sessions, err := auth.NewSessions(ctx, st, cfg.Secure(), cfg.CookieDomain)
	if err != nil {
		st.Close()
		return nil, err
	}
	p := &Parts{Store: st, Catalog: cat, Access: engine, Sessions: sessions,
		Auth:    &auth.Service{Store: st, Throttle: auth.NewThrottle(nil), SystemRoles: rbac.SystemRoles(cat)},
		TwoStep: &auth.TwoStep{Store: st, Throttle: auth.NewThrottle(nil), Issuer: "Rolegate"}}
	// A wrong passkey and a wrong code count together: both are the second step.
	p.Passkeys = &auth.Passkeys{Store: st, Throttle: p.TwoStep.Throttle, Name: "Rolegate"}
	if o := cfg.OIDC; o.Enabled() {
		p.SSO = auth.NewSSO(o.Issuer, o.ClientID, o.ClientSecret, o.Name, st)
	}
	sender, err := mail.New(cfg.SMTP)
	if err != nil {
		st.Close()
		return nil, err
	}
	if sender != nil {
		p.Mail = mailer{sender}
	}
	return p, nil
}

// mailer lets the staff domain send through the SMTP sender without knowing its types.
type mailer struct{ s *mail.Sender }

func (m mailer) Send(ctx context.Context, to, toName, subject, text string) error {
	return m.s.Send(ctx, mail.Message{To: to, ToName: toName, Subject: subject, Text: text})
}

// portalZone reads the portal's time zone setting (cached by the store) and loads the zone
// only when the name changes.
func portalZone(st *store.Store) func() *time.Location {
	var mu sync.Mutex
	name, loc := "", time.Local
	return func() *time.Location {
		set, err := st.Setting(context.Background(), settings.KeyTimeZone, "")
		mu.Lock()
		defer mu.Unlock()
		if err == nil && set != name {
			name, loc = set, time.Local
			if l, err := time.LoadLocation(set); err == nil && set != "" {
				loc = l
			}
		}
		return loc
	}
}
