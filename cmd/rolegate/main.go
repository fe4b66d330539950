// Command rolegate is the Rolegate portal: one binary that serves the portal and runs its
// maintenance commands. main only wires; run does the work and is what tests call.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/rolegate/rolegate/internal/app"
	"github.com/rolegate/rolegate/internal/audit"
	"github.com/rolegate/rolegate/internal/auth"
	"github.com/rolegate/rolegate/internal/boot"
	"github.com/rolegate/rolegate/internal/config"
	"github.com/rolegate/rolegate/internal/demo"
	"github.com/rolegate/rolegate/internal/rbac"
	"github.com/rolegate/rolegate/internal/store"
)

// version is set at build time with -ldflags "-X main.version=…".
var version = "dev"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr); err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "rolegate:", err)
		}
		os.Exit(1)
	}
}

const usage = `Usage: rolegate [command] [flags]

Commands:
  serve          serve the portal (the default)
  setup          create the first organisation and global admin
  demo           fill a new database with a sample group practice to try every page
  backup FILE    write a consistent copy of the database to FILE (not the audit key: keep
                 a copy of that apart)
  audit verify [--checkpoint LINE]
                 check the audit log's keyed chain and, with a checkpoint, that nothing up to
                 it was removed; exits non-zero naming the first tampered entry
  audit checkpoint
                 print a checkpoint line to keep outside the database
  audit rekey [--force]
                 key a log sealed the old unkeyed way that the portal would not key at start
                 (--force: even a broken chain, or one whose key is lost; it is recorded)
  token create --org ID --name NAME --scopes check,read[,write] [--expires 90d] --as EMAIL
                 make an API token acting for that person (printed alone on stdout, once)
  token list     the tokens: id, name, prefix, organisation, scopes, creator, last use, expiry
  token revoke ID
                 end a token at once
  app add --name NAME --host HOST[:PORT] [--path PREFIX] --org ID --permission KEY [--public P1,P2] [--two-step]
                 protect another tool: forward-auth lets in who holds KEY in the organisation
  app list       the protected applications: id, name, address, organisation, permission, state
  app edit ID [--name …] [--host …] [--path …] [--org …] [--permission …] [--public …]
                 change one: only the flags given, the rest as it is
  app enable ID | app disable ID
                 a disabled application is closed to everyone until enabled again
  app remove ID  stop protecting one (its address is then closed to everyone)
  version        print the version

Every command takes the shared flags (see 'rolegate serve -h'); each also reads the
environment variable named in its help, and the flag wins.
`

func run(ctx context.Context, args []string, env func(string) string, stdout, stderr io.Writer) error {
	cmd := "serve"
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		cmd, args = args[0], args[1:]
	}
	switch cmd {
	case "serve":
		return serve(ctx, args, env, stderr)
	case "setup":
		return setup(ctx, args, env, stdout, stderr)
	case "backup":
		return backup(ctx, args, env, stdout, stderr)
	case "demo":
		return demoCmd(ctx, args, env, stdout, stderr)
	case "audit":
		return auditCmd(ctx, args, env, stdout, stderr)
	case "token":
		return tokenCmd(ctx, args, env, stdout, stderr)
	case "app":
		return appCmd(ctx, args, env, stdout, stderr)
	case "version":
		fmt.Fprintln(stdout, "rolegate", version)
		return nil
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	}
	fmt.Fprint(stderr, usage)
	return fmt.Errorf("unknown command %q", cmd)
}

func serve(ctx context.Context, args []string, env func(string) string, stderr io.Writer) (err error) {
	var cfg config.Config
	fs := config.NewFlagSet("rolegate serve", stderr)
	cfg.Register(fs, env)
	if err := cfg.Parse(fs, args); err != nil {
		return err
	}
	lock, err := app.LockServe(cfg.DB)
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, lock.Release()) }()
	logger := slog.New(slog.NewJSONHandler(stderr, nil))
	a, err := app.Open(ctx, cfg, logger, version)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		a.Store.Close()
		return err
	}
	scheme := "http"
	if cfg.TLSCert != "" {
		scheme = "https"
	}
	url := scheme + "://" + displayAddr(ln.Addr())
	if cfg.BaseURL != "" {
		url = cfg.BaseURL
	}
	logger.Info("Rolegate is serving", "url", url, "db", cfg.DB, "version", version)
	fmt.Fprintf(stderr, "\n  Rolegate is running at %s  (Ctrl-C to stop)\n\n", url)
	return a.Serve(ctx, ln, cfg, logger)
}

// displayAddr turns ":8080" into "localhost:8080" so the printed URL can be opened as is.
func displayAddr(a net.Addr) string {
	host, port, err := net.SplitHostPort(a.String())
	if err != nil {
		return a.String()
	}
	if ip := net.ParseIP(host); ip == nil || ip.IsUnspecified() {
		host = "localhost"
	}
	return net.JoinHostPort(host, port)
}

func setup(ctx context.Context, args []string, env func(string) string, stdout, stderr io.Writer) error {
	var cfg config.Config
	var f auth.SetupForm
	var pwFile string
	fs := config.NewFlagSet("rolegate setup", stderr)
	cfg.Register(fs, env)
	fs.StringVar(&f.OrgName, "org", "", "name of the first organisation")
	fs.StringVar(&f.Name, "name", "", "name of the global admin")
	fs.StringVar(&f.Email, "email", "", "email of the global admin")
	fs.StringVar(&pwFile, "password-file", "", "file holding the admin's password (first line); - for standard input")
	if err := cfg.Parse(fs, args); err != nil {
		return err
	}
	if pwFile == "" {
		return errors.New("setup: --password-file is required (the password is never taken on the command line)")
	}
	pw, err := readPassword(pwFile)
	if err != nil {
		return fmt.Errorf("setup: %w", err)
	}
	f.Password = pw
	st, cat, _, err := boot.OpenStore(ctx, cfg, slog.New(slog.NewTextHandler(stderr, nil)))
	if err != nil {
		return err
	}
	defer st.Close()
	svc := &auth.Service{Store: st, Throttle: auth.NewThrottle(nil), SystemRoles: rbac.SystemRoles(cat)}
	u, problems, err := svc.Setup(ctx, f)
	if errors.Is(err, store.ErrAlreadySetUp) {
		return errors.New("setup: this portal is already set up; setup can only run once")
	}
	if err != nil {
		return err
	}
	if len(problems) > 0 {
		var msgs []string
		for _, field := range []string{"org", "name", "email", "password"} {
			if m, ok := problems[field]; ok {
				msgs = append(msgs, fmt.Sprintf("--%s: %s", map[string]string{"org": "org", "name": "name", "email": "email", "password": "password-file"}[field], m))
			}
		}
		return errors.New("setup: " + strings.Join(msgs, "; "))
	}
	fmt.Fprintf(stdout, "Set up %q with global admin %s.\n", f.OrgName, u.Email)
	return nil
}

func readPassword(name string) (string, error) {
	var b []byte
	var err error
	if name == "-" {
		b, err = io.ReadAll(io.LimitReader(os.Stdin, 4096))
	} else {
		b, err = os.ReadFile(name)
	}
	if err != nil {
		return "", err
	}
	line, _, _ := strings.Cut(string(b), "\n")
	return strings.TrimSuffix(line, "\r"), nil
}

func backup(ctx context.Context, args []string, env func(string) string, stdout, stderr io.Writer) error {
	var cfg config.Config
	fs := config.NewFlagSet("rolegate backup", stderr)
	cfg.Register(fs, env)
	// The destination is the one positional argument; flags may come before or after it.
	var dest string
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		dest, args = args[0], args[1:]
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if dest == "" && fs.NArg() == 1 {
		dest = fs.Arg(0)
	} else if fs.NArg() > 0 {
		return fmt.Errorf("backup: unexpected argument %q", fs.Arg(0))
	}
	if dest == "" {
		return errors.New("backup: name the file to write, e.g. rolegate backup rolegate-2026-11-24.db")
	}
	if err := cfg.Check(); err != nil {
		return err
	}
	st, err := store.OpenWith(ctx, cfg.DB, boot.StoreOptions(cfg))
	if err != nil {
		return err
	}
	defer st.Close()
	if err := st.Backup(ctx, dest); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "Wrote a consistent copy of %s to %s.\n", cfg.DB, dest)
	fmt.Fprintf(stdout, "The audit key %s is not in it: keep a copy of that file apart from the backups.\n", st.AuditKeyFile())
	return nil
}

func auditCmd(ctx context.Context, args []string, env func(string) string, stdout, stderr io.Writer) error {
	sub := ""
	if len(args) > 0 {
		sub, args = args[0], args[1:]
	}
	switch sub {
	case "verify":
		return auditVerify(ctx, args, env, stdout, stderr)
	case "checkpoint":
		return auditCheckpoint(ctx, args, env, stdout, stderr)
	case "rekey":
		return auditRekey(ctx, args, env, stdout, stderr)
	}
	return errors.New("audit: the subcommands are verify [--checkpoint LINE], checkpoint and rekey [--force]")
}

// checkpoints is the repeatable --checkpoint flag.
type checkpoints []audit.Checkpoint

func (c *checkpoints) String() string { return fmt.Sprint(len(*c), " checkpoints") }

func (c *checkpoints) Set(line string) error {
	cp, err := audit.ParseCheckpoint(line)
	if err != nil {
		return err
	}
	*c = append(*c, cp)
	return nil
}

// openAudit opens an existing database for the audit commands; inspect opens one whose log
// cannot be extended as it stands, so that verify can say why and rekey can mend it.
func openAudit(ctx context.Context, cfg config.Config, inspect bool) (*store.Store, error) {
	if _, err := os.Stat(cfg.DB); err != nil {
		return nil, err
	}
	opt := boot.StoreOptions(cfg)
	opt.AuditInspect = inspect
	return store.OpenWith(ctx, cfg.DB, opt)
}

func auditVerify(ctx context.Context, args []string, env func(string) string, stdout, stderr io.Writer) error {
	var cfg config.Config
	var cps checkpoints
	fs := config.NewFlagSet("rolegate audit verify", stderr)
	cfg.Register(fs, env)
	fs.Var(&cps, "checkpoint", "a checkpoint line (from rolegate audit checkpoint or the server's log) the log must still agree with; may be repeated")
	if err := cfg.Parse(fs, args); err != nil {
		return err
	}
	st, err := openAudit(ctx, cfg, true)
	if err != nil {
		return fmt.Errorf("audit verify: %w", err)
	}
	defer st.Close()
	n, err := st.VerifyAudit(ctx, cps...)
	var te *audit.TamperedError
	var tr *audit.TruncatedError
	switch {
	case errors.As(err, &te):
		return fmt.Errorf("audit verify: entry %d was tampered with: %s (%d entries before it are intact)", te.ID, te.Reason, n)
	case errors.As(err, &tr):
		return fmt.Errorf("audit verify: %s (the %d entries that remain are intact)", strings.TrimPrefix(tr.Error(), "audit: "), n)
	case err != nil:
		return fmt.Errorf("audit verify: %w", err)
	case st.AuditUnkeyed():
		fmt.Fprintf(stdout, "The audit log is intact by the old unkeyed recipe: %d entries. It is not keyed yet, so anyone holding the "+
			"database could have resealed it; the portal keys it at its next start (or run rolegate audit rekey).\n", n)
	case len(cps) == 0:
		fmt.Fprintf(stdout, "The audit log is intact: %d entries, every MAC and link matches the audit key %s.\n"+
			"Without a checkpoint the newest entries could have been removed unnoticed: verify with --checkpoint LINE, a line the "+
			"server logs at start and every 24 hours, or that rolegate audit checkpoint prints.\n", n, st.AuditKeyFile())
	default:
		newest := cps[0]
		for _, cp := range cps {
			if cp.Entries > newest.Entries {
				newest = cp
			}
		}
		fmt.Fprintf(stdout, "The audit log is intact: %d entries, every MAC and link matches the audit key %s, and entry %d has "+
			"the MAC of the checkpoint: nothing up to it was altered or removed.\n", n, st.AuditKeyFile(), newest.Entries)
	}
	return nil
}

func auditCheckpoint(ctx context.Context, args []string, env func(string) string, stdout, stderr io.Writer) error {
	var cfg config.Config
	fs := config.NewFlagSet("rolegate audit checkpoint", stderr)
	cfg.Register(fs, env)
	if err := cfg.Parse(fs, args); err != nil {
		return err
	}
	st, err := openAudit(ctx, cfg, false)
	if err != nil {
		return fmt.Errorf("audit checkpoint: %w", err)
	}
	defer st.Close()
	// A checkpoint vouches for the log up to it: never take one of a log that does not verify.
	if _, err := st.VerifyAudit(ctx); err != nil {
		return fmt.Errorf("audit checkpoint: the log does not verify, run rolegate audit verify: %w", err)
	}
	cp, err := st.AuditCheckpoint(ctx)
	if err != nil {
		return fmt.Errorf("audit checkpoint: %w", err)
	}
	fmt.Fprintln(stdout, cp.String())
	return nil
}

func auditRekey(ctx context.Context, args []string, env func(string) string, stdout, stderr io.Writer) (err error) {
	var cfg config.Config
	var force bool
	fs := config.NewFlagSet("rolegate audit rekey", stderr)
	cfg.Register(fs, env)
	fs.BoolVar(&force, "force", false, "re-key even a broken chain (its first broken entry is recorded) or a log whose key is lost")
	if err := cfg.Parse(fs, args); err != nil {
		return err
	}
	// Re-keying rewrites every entry's MAC: a server sealing new entries meanwhile with the
	// key it holds would break the chain, so it is refused while one serves.
	lock, err := app.LockServe(cfg.DB)
	if err != nil {
		return fmt.Errorf("audit rekey: %w", err)
	}
	defer func() { err = errors.Join(err, lock.Release()) }()
	st, err := openAudit(ctx, cfg, true)
	if err != nil {
		return fmt.Errorf("audit rekey: %w", err)
	}
	defer st.Close()
	r, err := st.RekeyAudit(ctx, force)
	if err != nil {
		return fmt.Errorf("audit rekey: %w", err)
	}
	key := "the audit key " + st.AuditKeyFile()
	if r.KeyCreated {
		key = "a new audit key, written to " + st.AuditKeyFile() + " (keep a copy of it apart from database backups)"
	}
	fmt.Fprintf(stdout, "Re-keyed the audit log: %d entries sealed with %s; the last entry records the re-keying.\n", r.Entries, key)
	if r.FirstBroken != 0 {
		fmt.Fprintf(stdout, "Entry %d did not match the old chain; the rekey entry records it.\n", r.FirstBroken)
	}
	if r.Missing != 0 {
		fmt.Fprintf(stdout, "%d missing entries were recorded as such (%s).\n", r.Missing, audit.EntryMissing)
	}
	if r.Unchecked {
		fmt.Fprintln(stdout, "The entries could not be checked against the old key, which was not at hand; the rekey entry says so.")
	}
	return nil
}

func demoCmd(ctx context.Context, args []string, env func(string) string, stdout, stderr io.Writer) error {
	var cfg config.Config
	var pwFile string
	fs := config.NewFlagSet("rolegate demo", stderr)
	cfg.Register(fs, env)
	fs.StringVar(&pwFile, "password-file", "", "file holding the demo admin's password (default: a random one, printed)")
	force := fs.Bool("force", false, "replace an existing demo practice (only a database that holds the demo, never another) with a new one")
	staff := fs.Int("staff", demo.DefaultStaff, "how many staff (a large demo spreads them over more clinics, about 500 each)")
	if err := cfg.Parse(fs, args); err != nil {
		return err
	}
	if *force {
		if err := removeDemo(ctx, cfg); err != nil {
			return err
		}
	}
	var pw string
	if pwFile != "" {
		var err error
		if pw, err = readPassword(pwFile); err != nil {
			return fmt.Errorf("demo: %w", err)
		}
	}
	st, cat, _, err := boot.OpenStore(ctx, cfg, slog.New(slog.NewTextHandler(stderr, nil)))
	if err != nil {
		return err
	}
	defer st.Close()
	if *staff < 1 || *staff > demo.MaxStaff {
		return fmt.Errorf("demo: --staff %d: give between 1 and %d", *staff, demo.MaxStaff)
	}
	pw, err = demo.Seed(ctx, st, cat, pw, *staff)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "Demo practice of %d staff written to %s.\nSign in as %s with the password:\n\n    %s\n\n", *staff, cfg.DB, demo.AdminEmail, pw)
	return nil
}

// removeDemo deletes the demo practice at cfg.DB (database, its -wal and -shm, its audit
// key), so demo --force can write a new one. A database that does not hold the demo admin
// is refused: --force must never delete a real practice.
func removeDemo(ctx context.Context, cfg config.Config) error {
	if _, err := os.Stat(cfg.DB); errors.Is(err, os.ErrNotExist) {
		return nil
	}
	st, err := store.OpenWith(ctx, cfg.DB, boot.StoreOptions(cfg))
	if err != nil {
		return fmt.Errorf("demo --force: %w", err)
	}
	_, err = st.UserByEmail(ctx, demo.AdminEmail)
	keyFile := st.AuditKeyFile()
	st.Close()
	if errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("demo --force: %s is not a demo practice (it has no %s); it was left alone", cfg.DB, demo.AdminEmail)
	}
	if err != nil {
		return fmt.Errorf("demo --force: %w", err)
	}
	for _, f := range []string{cfg.DB, cfg.DB + "-wal", cfg.DB + "-shm", keyFile} {
		if err := os.Remove(f); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("demo --force: %w", err)
		}
	}
	return nil
}
