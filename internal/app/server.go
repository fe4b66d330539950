// Package app puts the web face on the parts internal/boot opens and serves it until the
// context ends, finishing requests in flight. The command and the browser tests both use it,
// so tests drive exactly what people run.
package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/rolegate/rolegate/internal/auth"
	"github.com/rolegate/rolegate/internal/boot"
	"github.com/rolegate/rolegate/internal/config"
	"github.com/rolegate/rolegate/internal/rbac"
	"github.com/rolegate/rolegate/internal/reviews"
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
	reviews  *reviews.Service
}

// Auth is the sign-in and setup service the portal uses.
func (a *App) Auth() *auth.Service { return a.auth }

// Open opens the database and builds the handler.
func Open(ctx context.Context, cfg config.Config, logger *slog.Logger, version string) (*App, error) {
	parts, err := boot.Open(ctx, cfg, logger)
	if err != nil {
		return nil, err
	}
	e := web.New(web.DepsOf(parts, cfg, logger, version))
	return &App{Store: parts.Store, Sessions: parts.Sessions, Access: parts.Access, Handler: e, auth: parts.Auth,
		reviews: &reviews.Service{Store: parts.Store, Access: parts.Access, Mail: parts.Mail, Link: cfg.BaseURL}}, nil
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
	go a.sweepEnded(ctx, logger)
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

// EndedInterval is how often the running server records time-bound grants that have ended.
// They grant nothing from their end on whether or not this has run; it writes "ended" in the
// audit log and takes them off the lists.
const EndedInterval = time.Minute

// sweepEnded runs Store.ExpireEnded at start and every EndedInterval, and the access
// reviews' sweep after it (overdue reviews told once, the next of a recurring review started
// on its day).
func (a *App) sweepEnded(ctx context.Context, logger *slog.Logger) {
	t := time.NewTicker(EndedInterval)
	defer t.Stop()
	for {
		if n, err := a.Store.ExpireEnded(ctx); err != nil && ctx.Err() == nil {
			logger.Warn("recording ended access failed", "err", err)
		} else if n > 0 {
			logger.Info("recorded ended access", "grants", n)
		}
		if n, err := a.SweepReviews(ctx); err != nil && ctx.Err() == nil {
			logger.Warn("access review sweep failed", "err", err)
		} else if n > 0 {
			logger.Info("started recurring access reviews", "reviews", n)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// SweepReviews runs the access reviews' sweep once (the server runs it every EndedInterval;
// tests call it on their own clock).
func (a *App) SweepReviews(ctx context.Context) (int, error) { return a.reviews.Sweep(ctx) }

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
