// Package server assembles Rolegate from its parts (store, auth, web) and serves it until the
// context ends, finishing requests in flight. The command and the browser tests both use it,
// so tests drive exactly what people run.
package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/rolegate/rolegate/internal/auth"
	"github.com/rolegate/rolegate/internal/config"
	"github.com/rolegate/rolegate/internal/mail"
	"github.com/rolegate/rolegate/internal/rbac"
	"github.com/rolegate/rolegate/internal/store"
	"github.com/rolegate/rolegate/web"
)

// App is an assembled portal.
type App struct {
	Store    *store.Store
	Sessions *auth.Sessions
	Access   *rbac.Engine
	Handler  http.Handler
	auth     *auth.Service
}

// Auth is the sign-in and setup service the portal uses.
func (a *App) Auth() *auth.Service { return a.auth }

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
	st.GuardAccess(func(after rbac.Data) error {
		return rbac.CheckLockout(cat, engine.Now().Data(), after)
	})
	st.OnAccessChange(func(ctx context.Context) {
		if err := engine.Reload(context.WithoutCancel(ctx)); err != nil {
			logger.Error("reload permissions", "err", err)
		}
	})
	return st, cat, engine, nil
}

// Open opens the database and builds the handler.
func Open(ctx context.Context, cfg config.Config, logger *slog.Logger, version string) (*App, error) {
	st, cat, engine, err := OpenStore(ctx, cfg, logger)
	if err != nil {
		return nil, err
	}
	sessions, err := auth.NewSessions(ctx, st, cfg.Secure())
	if err != nil {
		st.Close()
		return nil, err
	}
	svc := &auth.Service{Store: st, Throttle: auth.NewThrottle(nil), SystemRoles: rbac.SystemRoles(cat)}
	deps := web.Deps{Store: st, Sessions: sessions, Config: cfg, Logger: logger, Version: version, Access: engine, Auth: svc}
	sender, err := mail.New(cfg.SMTP)
	if err != nil {
		st.Close()
		return nil, err
	}
	if sender != nil {
		deps.Mail = mailer{sender}
	}
	e := web.New(deps)
	return &App{Store: st, Sessions: sessions, Access: engine, Handler: e, auth: svc}, nil
}

// mailer lets the staff domain send through the SMTP sender without knowing its types.
type mailer struct{ s *mail.Sender }

func (m mailer) Send(ctx context.Context, to, toName, subject, text string) error {
	return m.s.Send(ctx, mail.Message{To: to, ToName: toName, Subject: subject, Text: text})
}

// Serve answers on ln until ctx is done, then gives requests in flight web.ShutdownGrace to
// finish. It closes the store on the way out.
func (a *App) Serve(ctx context.Context, ln net.Listener, cfg config.Config, logger *slog.Logger) error {
	defer a.Store.Close()
	srv := &http.Server{
		Handler:           a.Handler,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
	go a.sweepSessions(ctx, logger)
	a.logCheckpoint(ctx, logger)
	go a.logCheckpoints(ctx, logger)
	errc := make(chan error, 1)
	go func() {
		if cfg.TLSCert != "" {
			errc <- srv.ServeTLS(ln, cfg.TLSCert, cfg.TLSKey)
		} else {
			errc <- srv.Serve(ln)
		}
	}()
	select {
	case err := <-errc:
		return fmt.Errorf("server: %w", err)
	case <-ctx.Done():
	}
	logger.Info("shutting down; finishing requests in flight")
	sctx, cancel := context.WithTimeout(context.Background(), web.ShutdownGrace)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return fmt.Errorf("server: shutdown: %w", err)
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("server: %w", err)
	}
	return nil
}

// sweepSessions removes timed-out sessions every few minutes.
func (a *App) sweepSessions(ctx context.Context, logger *slog.Logger) {
	t := time.NewTicker(10 * time.Minute)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if err := a.Sessions.Sweep(ctx); err != nil {
				logger.Warn("session sweep failed", "err", err)
			}
		}
	}
}

// CheckpointInterval is how often the running server logs an audit checkpoint.
const CheckpointInterval = 24 * time.Hour

// logCheckpoints logs an audit checkpoint every CheckpointInterval. The log leaves the machine
// (journald, a log service) where whoever holds only the database cannot reach it, and its
// lines are what `rolegate audit verify --checkpoint` takes, to show that no entry up to one
// was altered or removed.
func (a *App) logCheckpoints(ctx context.Context, logger *slog.Logger) {
	t := time.NewTicker(CheckpointInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			a.logCheckpoint(ctx, logger)
		}
	}
}

func (a *App) logCheckpoint(ctx context.Context, logger *slog.Logger) {
	cp, err := a.Store.AuditCheckpoint(ctx)
	if err != nil {
		logger.Error("audit checkpoint failed", "err", err)
		return
	}
	logger.Info("audit checkpoint", "checkpoint", cp.String())
}
