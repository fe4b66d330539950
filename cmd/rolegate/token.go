package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/rolegate/rolegate/internal/boot"
	"github.com/rolegate/rolegate/internal/config"
	"github.com/rolegate/rolegate/internal/store"
	"github.com/rolegate/rolegate/internal/tokens"
)

// tokenCmd is `rolegate token create|list|revoke`: API tokens from a script (PRODUCT.md §2.9).
func tokenCmd(ctx context.Context, args []string, env func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return errors.New("token: say create, list or revoke")
	}
	sub, args := args[0], args[1:]
	var id string // token revoke ID [flags]
	if sub == "revoke" && len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		id, args = args[0], args[1:]
	}
	var cfg config.Config
	fs := config.NewFlagSet("rolegate token "+sub, stderr)
	cfg.Register(fs, env)
	var org int64
	var name, scopes, expires, as string
	if sub == "create" {
		fs.Int64Var(&org, "org", 0, "organisation id the token reaches (and those below it)")
		fs.StringVar(&name, "name", "", "what the token is for, e.g. \"EHR bridge\"")
		fs.StringVar(&scopes, "scopes", "check", "comma-separated: check, read, write")
		fs.StringVar(&expires, "expires", "", "days until it stops working, e.g. 90d (default: never)")
		fs.StringVar(&as, "as", "", "email of the person the token acts for; they need integrations.manage in --org")
	}
	if err := cfg.Parse(fs, args); err != nil {
		return err
	}
	parts, err := boot.Open(ctx, cfg, slog.New(slog.NewTextHandler(stderr, nil)))
	if err != nil {
		return err
	}
	defer parts.Store.Close()
	svc := &tokens.Service{Store: parts.Store, Access: parts.Access}
	switch sub {
	case "create":
		return tokenCreate(ctx, svc, parts.Store, tokenFlags{org, name, scopes, expires, as}, stdout)
	case "list":
		return tokenList(ctx, parts.Store, stdout)
	case "revoke":
		id, err := strconv.ParseInt(id, 10, 64)
		if err != nil || id <= 0 {
			return errors.New("token revoke: give the token's id (see token list)")
		}
		if _, err := parts.Store.TokenByID(ctx, id); err != nil {
			return fmt.Errorf("token revoke: %w", err)
		}
		// From the command line: whoever holds the database file, recorded as nobody signed in.
		return parts.Store.RevokeToken(ctx, id, 0)
	}
	return fmt.Errorf("token: unknown command %q: say create, list or revoke", sub)
}

type tokenFlags struct {
	org                       int64
	name, scopes, expires, as string
}

func tokenCreate(ctx context.Context, svc *tokens.Service, st *store.Store, f tokenFlags, stdout io.Writer) error {
	if f.as == "" {
		return errors.New("token create: --as EMAIL is required: a token acts for a person, never beyond their access")
	}
	u, err := st.UserByEmail(ctx, strings.ToLower(strings.TrimSpace(f.as)))
	if errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("token create: no account %s", f.as)
	}
	if err != nil {
		return err
	}
	days, msg := tokens.ParseExpiry(f.expires)
	if msg != "" {
		return errors.New("token create: --expires: " + msg)
	}
	made, problems, err := svc.Create(ctx, u.ID, tokens.Form{Name: f.name, OrgID: f.org, Scopes: []string{f.scopes}, ExpiryDays: days})
	if err != nil {
		return fmt.Errorf("token create: %w", err)
	}
	if len(problems) > 0 {
		var msgs []string
		for _, k := range []string{"name", "org", "scopes", "expires"} {
			if m, ok := problems[k]; ok {
				msgs = append(msgs, "--"+k+": "+m)
			}
		}
		return errors.New("token create: " + strings.Join(msgs, "; "))
	}
	fmt.Fprintln(stdout, made.Secret)
	return nil
}

func tokenList(ctx context.Context, st *store.Store, stdout io.Writer) error {
	list, err := st.ListTokens(ctx, nil)
	if err != nil {
		return err
	}
	w := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "ID\tNAME\tPREFIX\tORGANISATION\tSCOPES\tCREATED BY\tLAST USED\tEXPIRES\tSTATE")
	day := func(unix int64, none string) string {
		if unix == 0 {
			return none
		}
		return time.Unix(unix, 0).UTC().Format(time.DateOnly)
	}
	for _, t := range list {
		state := "live"
		switch {
		case t.RevokedAt != 0:
			state = "revoked"
		case t.ExpiresAt != 0 && time.Now().Unix() >= t.ExpiresAt:
			state = "expired"
		}
		fmt.Fprintf(w, "%d\t%s\t%s…\t%s\t%s\t%s\t%s\t%s\t%s\n", t.ID, t.Name, t.Prefix, t.OrgName, strings.Join(t.Scopes, ","),
			t.CreatorName, day(t.LastUsedAt, "never"), day(t.ExpiresAt, "never"), state)
	}
	return w.Flush()
}
