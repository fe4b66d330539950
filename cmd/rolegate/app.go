package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/rolegate/rolegate/internal/apps"
	"github.com/rolegate/rolegate/internal/boot"
	"github.com/rolegate/rolegate/internal/config"
)

// appCmd is `rolegate app add|list|edit|enable|disable|remove`: protected applications from
// a script, for configuration kept in files (PRODUCT.md §2.9). A running server sees the
// change on its next forward-auth decision (it compares the rules' version on each).
func appCmd(ctx context.Context, args []string, env func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return errors.New("app: say add, list, edit, enable, disable or remove")
	}
	sub, args := args[0], args[1:]
	var id string // app edit|enable|disable|remove ID [flags]
	takesID := sub == "edit" || sub == "enable" || sub == "disable" || sub == "remove"
	if takesID && len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		id, args = args[0], args[1:]
	}
	var cfg config.Config
	fs := config.NewFlagSet("rolegate app "+sub, stderr)
	cfg.Register(fs, env)
	var f apps.Form
	if sub == "add" || sub == "edit" {
		fs.StringVar(&f.Name, "name", "", "what people call the tool, e.g. Wiki")
		fs.StringVar(&f.Host, "host", "", "host people type, e.g. wiki.clinic.example (with :PORT for that port only)")
		fs.StringVar(&f.PathPrefix, "path", "/", "path prefix the rule covers; the longest prefix on a host wins")
		fs.Int64Var(&f.OrgID, "org", 0, "organisation id in which the permission is looked up")
		fs.StringVar(&f.Permission, "permission", "", "catalog key people need, e.g. billing.view")
		fs.StringVar(&f.PublicPaths, "public", "", "comma-separated path prefixes anyone may open without signing in")
		fs.BoolVar(&f.RequireTwoStep, "two-step", false, "only people who passed two-step sign-in get in")
	}
	if err := cfg.Parse(fs, args); err != nil {
		return err
	}
	var n int64
	if takesID {
		var err error
		if n, err = strconv.ParseInt(id, 10, 64); err != nil || n <= 0 {
			return fmt.Errorf("app %s: give the application's id (see app list)", sub)
		}
	}
	parts, err := boot.Open(ctx, cfg, slog.New(slog.NewTextHandler(stderr, nil)))
	if err != nil {
		return err
	}
	defer parts.Store.Close()
	svc := &apps.Service{Store: parts.Store, Access: parts.Access}
	switch sub {
	case "add":
		a, problems, err := svc.CreateFromCommandLine(ctx, f)
		if err != nil {
			return fmt.Errorf("app add: %w", err)
		}
		if len(problems) > 0 {
			return flagProblems("app add", problems)
		}
		fmt.Fprintln(stdout, a.ID)
		return nil
	case "edit":
		// Only the flags given change; the rest stays as stored.
		was, err := parts.Store.AppByID(ctx, n)
		if err != nil {
			return fmt.Errorf("app edit: %w", err)
		}
		given := map[string]bool{}
		fs.Visit(func(fl *flag.Flag) { given[fl.Name] = true })
		keep := apps.FormOf(was)
		for name, field := range map[string][2]*string{"name": {&f.Name, &keep.Name}, "host": {&f.Host, &keep.Host}, "path": {&f.PathPrefix, &keep.PathPrefix},
			"permission": {&f.Permission, &keep.Permission}, "public": {&f.PublicPaths, &keep.PublicPaths}} {
			if !given[name] {
				*field[0] = *field[1]
			}
		}
		if !given["org"] {
			f.OrgID = keep.OrgID
		}
		if !given["two-step"] {
			f.RequireTwoStep = keep.RequireTwoStep
		}
		problems, err := svc.UpdateFromCommandLine(ctx, n, f)
		if err != nil {
			return fmt.Errorf("app edit: %w", err)
		}
		if len(problems) > 0 {
			return flagProblems("app edit", problems)
		}
		return nil
	case "enable", "disable":
		if err := svc.SetEnabledFromCommandLine(ctx, n, sub == "enable"); err != nil {
			return fmt.Errorf("app %s: %w", sub, err)
		}
		return nil
	case "list":
		list, err := parts.Store.ListApps(ctx, nil)
		if err != nil {
			return err
		}
		w := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(w, "ID\tNAME\tADDRESS\tORGANISATION\tPERMISSION\tPUBLIC\tSTATE")
		for _, a := range list {
			state := "enabled"
			if !a.Enabled {
				state = "disabled"
			}
			fmt.Fprintf(w, "%d\t%s\t%s\t%s\t%s\t%s\t%s\n", a.ID, a.Name, a.Rule(), a.OrgName, a.Permission, strings.Join(a.PublicPaths, ","), state)
		}
		return w.Flush()
	case "remove":
		// From the command line: whoever holds the database file, recorded as nobody signed in.
		if err := parts.Store.RemoveApp(ctx, n, 0); err != nil {
			return fmt.Errorf("app remove: %w", err)
		}
		return nil
	}
	return fmt.Errorf("app: unknown command %q: say add, list, edit, enable, disable or remove", sub)
}

// flagProblems turns a form's problems into one error naming the flags.
func flagProblems(cmd string, problems map[string]string) error {
	var msgs []string
	for _, k := range []string{"name", "host", "path", "org", "permission", "public"} {
		if m, ok := problems[k]; ok {
			msgs = append(msgs, "--"+k+": "+m)
		}
	}
	return errors.New(cmd + ": " + strings.Join(msgs, "; "))
}
