// Package apps holds protected applications for forward-auth (PRODUCT.md §2.9): how a rule is
// written (host, path prefix, public paths), which rule a proxied request falls under, who
// may manage rules, and the decision a proxy gets, answered from the in-memory permission
// snapshot and the session alone.
package apps

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/rolegate/rolegate/internal/rbac"
	"github.com/rolegate/rolegate/internal/store"
	"github.com/rolegate/rolegate/internal/valid"
)

// MaxNameLen bounds an application's name; MaxPublicPaths the public paths of one.
const (
	MaxNameLen     = 100
	MaxPublicPaths = 20
)

// Form is what adding an application asks for.
type Form struct {
	Name       string
	Host       string
	PathPrefix string
	OrgID      int64
	Permission string
	// PublicPaths: prefixes anyone may reach (one per line or comma-separated).
	PublicPaths string
	// RequireTwoStep: only sessions that passed the second step of signing in get in.
	RequireTwoStep bool
}

// Validate checks f against the catalog and the organisations of snap and gives what to
// store. Problems are keyed by the form fields name, host, path, org, permission and public.
func Validate(snap *rbac.Snapshot, f Form) (store.NewApp, valid.Problems) {
	p := valid.Problems{}
	var out store.NewApp
	var msg string
	out.Name, msg = valid.Text(f.Name, true, MaxNameLen)
	p.Add("name", msg)
	out.Host, msg = NormaliseHost(f.Host)
	p.Add("host", msg)
	out.PathPrefix, msg = NormalisePrefix(f.PathPrefix)
	p.Add("path", msg)
	if _, ok := snap.Org(f.OrgID); !ok {
		p.Add("org", "Choose an organisation.")
	}
	out.OrgID = f.OrgID
	if f.Permission = strings.TrimSpace(f.Permission); !snap.Catalog().Has(f.Permission) {
		p.Add("permission", "Choose a permission from the catalog.")
	}
	out.Permission = f.Permission
	out.RequireTwoStep = f.RequireTwoStep
	for item := range strings.FieldsFuncSeq(f.PublicPaths, func(r rune) bool { return r == '\n' || r == ',' || r == '\r' }) {
		if item = strings.TrimSpace(item); item == "" {
			continue
		}
		pub, msg := NormalisePrefix(item)
		if msg != "" {
			p.Add("public", item+": "+msg)
			break
		}
		if p["path"] == "" && !under(pub, out.PathPrefix) {
			p.Add("public", item+" is not under the path prefix "+out.PathPrefix+", so it would never be reached.")
			break
		}
		if !slices.Contains(out.PublicPaths, pub) {
			out.PublicPaths = append(out.PublicPaths, pub)
		}
	}
	if len(out.PublicPaths) > MaxPublicPaths {
		p.Add("public", "Give at most 20 public paths.")
	}
	slices.Sort(out.PublicPaths)
	return out, p
}

// Service manages protected applications and answers forward-auth decisions. One per
// running portal: it caches the compiled rules and remembers recent denials.
type Service struct {
	Store  *store.Store
	Access *rbac.Engine
	Now    func() time.Time // time.Now when nil

	mu      sync.Mutex
	version int64
	rules   *Rules
	denied  map[denial]time.Time

	ids identities
}

func (s *Service) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

// CanManage reports whether actor may add, change and remove the applications of org:
// integrations.manage there.
func CanManage(snap *rbac.Snapshot, actorID, orgID int64) bool {
	return snap.Can(actorID, orgID, rbac.PermIntegrations)
}

// Create validates f and adds the application for actor, who needs integrations.manage in
// f.OrgID. A host and prefix some application already has is a problem of the path field.
func (s *Service) Create(ctx context.Context, actorID int64, f Form) (store.App, valid.Problems, error) {
	snap := s.Access.Now()
	in, p := Validate(snap, f)
	if p["org"] == "" && !CanManage(snap, actorID, f.OrgID) {
		return store.App{}, nil, snap.Forbidden(f.OrgID, rbac.PermIntegrations)
	}
	if len(p) > 0 {
		return store.App{}, p, nil
	}
	in.CreatedBy = actorID
	return s.create(ctx, in)
}

// CreateFromCommandLine adds an application for whoever holds the database file (recorded
// as nobody signed in): `rolegate app add`.
func (s *Service) CreateFromCommandLine(ctx context.Context, f Form) (store.App, valid.Problems, error) {
	in, p := Validate(s.Access.Now(), f)
	if len(p) > 0 {
		return store.App{}, p, nil
	}
	return s.create(ctx, in)
}

func (s *Service) create(ctx context.Context, in store.NewApp) (store.App, valid.Problems, error) {
	id, err := s.Store.CreateApp(ctx, in)
	if errors.Is(err, store.ErrAppExists) {
		return store.App{}, valid.Problems{"path": "Another application already has this host and path prefix."}, nil
	}
	if err != nil {
		return store.App{}, nil, err
	}
	a, err := s.Store.AppByID(ctx, id)
	return a, nil, err
}

// Manageable are the organisations whose applications actor may see and change: where they
// hold integrations.manage, and below. nil means every one (a global admin).
func (s *Service) Manageable(actorID int64) []int64 {
	snap := s.Access.Now()
	if snap.IsGlobalAdmin(actorID) {
		return nil
	}
	out := []int64{}
	for _, o := range snap.OrgsWhere(actorID, rbac.PermIntegrations) {
		for _, id := range snap.Subtree(o) {
			if !slices.Contains(out, id) {
				out = append(out, id)
			}
		}
	}
	return out
}

// List returns the applications actor may manage, by host and prefix.
func (s *Service) List(ctx context.Context, actorID int64) ([]store.App, error) {
	return s.Store.ListApps(ctx, s.Manageable(actorID))
}

// manageable loads an application actor may manage; one of an organisation they may not is
// answered as unknown.
func (s *Service) manageable(ctx context.Context, actorID, id int64) (store.App, error) {
	a, err := s.Store.AppByID(ctx, id)
	if err != nil {
		return a, err
	}
	if !CanManage(s.Access.Now(), actorID, a.OrgID) {
		return a, store.ErrNotFound
	}
	return a, nil
}

// Update validates f and changes application id for actor, who needs integrations.manage
// both in the organisation it is in and in the one f names: nobody moves a tool into, or
// out of, an organisation they do not manage there.
func (s *Service) Update(ctx context.Context, actorID, id int64, f Form) (valid.Problems, error) {
	if _, err := s.manageable(ctx, actorID, id); err != nil {
		return nil, err
	}
	snap := s.Access.Now()
	in, p := Validate(snap, f)
	if p["org"] == "" && !CanManage(snap, actorID, f.OrgID) {
		return nil, snap.Forbidden(f.OrgID, rbac.PermIntegrations)
	}
	if len(p) > 0 {
		return p, nil
	}
	return s.update(ctx, actorID, id, in)
}

// UpdateFromCommandLine changes an application for whoever holds the database file
// (recorded as nobody signed in): `rolegate app edit`.
func (s *Service) UpdateFromCommandLine(ctx context.Context, id int64, f Form) (valid.Problems, error) {
	if _, err := s.Store.AppByID(ctx, id); err != nil {
		return nil, err
	}
	in, p := Validate(s.Access.Now(), f)
	if len(p) > 0 {
		return p, nil
	}
	return s.update(ctx, 0, id, in)
}

func (s *Service) update(ctx context.Context, actorID, id int64, in store.NewApp) (valid.Problems, error) {
	err := s.Store.UpdateApp(ctx, id, in, actorID)
	if errors.Is(err, store.ErrAppExists) {
		return valid.Problems{"path": "Another application already has this host and path prefix."}, nil
	}
	return nil, err
}

// FormOf is the form that edits a: what it holds now.
func FormOf(a store.App) Form {
	return Form{Name: a.Name, Host: a.Host, PathPrefix: a.PathPrefix, OrgID: a.OrgID, Permission: a.Permission,
		PublicPaths: strings.Join(a.PublicPaths, "\n"), RequireTwoStep: a.RequireTwoStep}
}

// Get returns application id if actor may manage it (store.ErrNotFound otherwise).
func (s *Service) Get(ctx context.Context, actorID, id int64) (store.App, error) {
	return s.manageable(ctx, actorID, id)
}

// SetEnabledFromCommandLine is SetEnabled for whoever holds the database file: `rolegate app
// enable|disable`.
func (s *Service) SetEnabledFromCommandLine(ctx context.Context, id int64, enabled bool) error {
	return s.Store.SetAppEnabled(ctx, id, enabled, 0)
}

// SetEnabled enables or disables an application (actor needs integrations.manage in its
// organisation); a disabled one denies everyone.
func (s *Service) SetEnabled(ctx context.Context, actorID, id int64, enabled bool) error {
	if _, err := s.manageable(ctx, actorID, id); err != nil {
		return err
	}
	return s.Store.SetAppEnabled(ctx, id, enabled, actorID)
}

// Remove deletes an application (actor needs integrations.manage in its organisation); its
// host is denied from the next request unless another rule names it.
func (s *Service) Remove(ctx context.Context, actorID, id int64) error {
	if _, err := s.manageable(ctx, actorID, id); err != nil {
		return err
	}
	return s.Store.RemoveApp(ctx, id, actorID)
}

// Rules returns the compiled rules as stored now. It reads one number per call and the rules
// only when that number changed, so a change made by another process (`rolegate app add`)
// is seen on the next request without a restart.
func (s *Service) Rules(ctx context.Context) (*Rules, error) {
	v, err := s.Store.AppsVersion(ctx)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	if s.rules != nil && s.version >= v {
		r := s.rules
		s.mu.Unlock()
		return r, nil
	}
	s.mu.Unlock()
	list, err := s.Store.ListApps(ctx, nil)
	if err != nil {
		return nil, err
	}
	r := Compile(list)
	s.mu.Lock()
	if v >= s.version {
		s.rules, s.version = r, v
	}
	s.mu.Unlock()
	return r, nil
}

// Outcome is what a forward-auth decision says.
type Outcome int

// The outcomes, each one status for the proxy.
const (
	Allowed      Outcome = iota // 200 with the identity headers
	SignInNeeded                // 401, or a redirect to sign-in
	Refused                     // 403: the person lacks the permission
	UnknownHost                 // 403: no application names the host and path (deny by default)
	Disabled                    // 403: the application is disabled
	PathRefused                 // 403: a path Rolegate will not match (ErrBadPath)
	// SecondStepNeeded: 401, or a redirect, to pass the second step of signing in, which
	// the application requires and the session has not passed.
	SecondStepNeeded
)

// Decision is the answer to one forward-auth question.
type Decision struct {
	Outcome Outcome
	App     store.App // when a rule matched
	Public  bool      // allowed through a public path
	// Identity is set when the person is signed in and allowed; shared with other
	// decisions (read it, never change it).
	Identity *Identity
}

// Decide answers req for the signed-in user (nil: no session), whose session passed the
// second step of signing in when secondStep. It reads the current snapshot and the cached
// rules and writes nothing.
func (s *Service) Decide(ctx context.Context, req Request, user *store.User, secondStep bool) (Decision, error) {
	if req.PathErr != nil {
		return Decision{Outcome: PathRefused}, nil
	}
	rules, err := s.Rules(ctx)
	if err != nil {
		return Decision{}, err
	}
	m := rules.Match(req.Host, req.Port, req.Path)
	switch {
	case !m.Found:
		return Decision{Outcome: UnknownHost}, nil
	case !m.App.Enabled:
		return Decision{Outcome: Disabled, App: m.App}, nil
	}
	d := Decision{App: m.App, Public: m.Public}
	snap := s.Access.Now()
	switch {
	case user == nil && m.Public:
		d.Outcome, d.Identity = Allowed, &nobody
	case user == nil:
		d.Outcome = SignInNeeded
	case m.Public:
		d.Outcome, d.Identity = Allowed, s.identity(snap, user, m.App)
	case !snap.Can(user.ID, m.App.OrgID, m.App.Permission):
		d.Outcome = Refused // a second step would not give it
	case m.App.RequireTwoStep && !secondStep:
		d.Outcome = SecondStepNeeded
	default:
		d.Outcome, d.Identity = Allowed, s.identity(snap, user, m.App)
	}
	return d, nil
}

// Refusal is what the refused person is told: the application, what it needs where, their
// own reason (§1.3) and who there could give it to them.
type Refusal struct {
	App, Permission, PermissionKey, Org, Reason string
	// Grantors are the names of active people who may give roles there (staff.manage) and may
	// grant this permission, never the refused person.
	Grantors []string
}

// MaxGrantors bounds the names a refusal lists.
const MaxGrantors = 5

// RefusalFor explains d (a Refused decision) to userID.
func RefusalFor(snap *rbac.Snapshot, userID int64, a store.App) Refusal {
	r := Refusal{App: a.Name, Permission: snap.Catalog().Label(a.Permission), PermissionKey: a.Permission, Org: a.OrgName}
	if o, ok := snap.Org(a.OrgID); ok {
		r.Org = o.Name
	}
	r.Reason = snap.Reason(snap.Explain(userID, a.OrgID, a.Permission), a.OrgID)
	for _, id := range snap.WhoCan(a.OrgID, rbac.PermStaffManage) {
		if id == userID || !snap.CanGrant(id, a.OrgID, a.Permission) {
			continue
		}
		if u, ok := snap.User(id); ok && len(r.Grantors) < MaxGrantors {
			r.Grantors = append(r.Grantors, u.Name)
		}
	}
	return r
}

// DenialEvery is how often one denial (user, application, permission) is audited at most.
const DenialEvery = 10 * time.Minute

type denial struct {
	user, app int64
	perm      string
}

// ShouldAudit reports whether this denial is the first for (user, app, perm) in DenialEvery,
// and remembers it: a proxy asks on every request, and the log records the refusal, not the
// retries. Memory only; a restart forgets, which at worst audits one more entry.
func (s *Service) ShouldAudit(userID, appID int64, perm string) bool {
	now := s.now()
	k := denial{userID, appID, perm}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.denied == nil {
		s.denied = map[denial]time.Time{}
	}
	if last, ok := s.denied[k]; ok && now.Sub(last) < DenialEvery {
		return false
	}
	if len(s.denied) >= 10_000 {
		for key, at := range s.denied {
			if now.Sub(at) >= DenialEvery {
				delete(s.denied, key)
			}
		}
	}
	s.denied[k] = now
	return true
}
