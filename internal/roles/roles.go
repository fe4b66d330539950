// Package roles is the domain of custom roles: validating what an admin typed, generating
// codes, applying the escalation guard, and saving through the store. It knows nothing of HTTP.
package roles

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"unicode"

	"github.com/rolegate/rolegate/internal/rbac"
	"github.com/rolegate/rolegate/internal/staff"
	"github.com/rolegate/rolegate/internal/store"
	"github.com/rolegate/rolegate/internal/valid"
)

// Limits of the role form (PRODUCT.md §2.3).
const (
	MaxName        = 64
	MaxDescription = 500
)

// ViewPermissions are the permissions that let someone see roles, the grid and the details
// in an organisation: a staff viewer must understand what each role means.
var ViewPermissions = []string{rbac.PermRolesManage, rbac.PermStaffView}

// CanView reports whether actor may see role: they hold one of ViewPermissions in the role's
// organisation or in one below it, where the role applies and can be given.
func CanView(snap *rbac.Snapshot, actorID int64, role rbac.Role) bool {
	for _, o := range snap.Subtree(role.OrgID) {
		for _, p := range ViewPermissions {
			if snap.Can(actorID, o, p) {
				return true
			}
		}
	}
	return false
}

// Get loads role id for actor, who must hold one of perms in its organisation
// (*rbac.ForbiddenError naming it otherwise): the role's forms and Select members.
func (s *Service) Get(ctx context.Context, actorID, id int64, perms ...string) (store.RoleRow, error) {
	r, err := s.Store.Role(ctx, id)
	if err != nil {
		return r, err
	}
	snap := s.Access.Now()
	if !slices.ContainsFunc(perms, func(p string) bool { return snap.Can(actorID, r.OrgID, p) }) {
		return r, snap.Forbidden(r.OrgID, perms...)
	}
	return r, nil
}

// View loads role id for actor, who must be able to see it (CanView): the role's page, or a
// template to start a new role from. Anyone else is told nothing of it beyond the refusal.
func (s *Service) View(ctx context.Context, actorID, id int64) (store.RoleRow, error) {
	snap := s.Access.Now()
	role, ok := snap.Role(id)
	if !ok {
		return store.RoleRow{}, store.ErrNotFound
	}
	if !CanView(snap, actorID, role) {
		return store.RoleRow{}, snap.Forbidden(role.OrgID, ViewPermissions...)
	}
	return s.Store.Role(ctx, id)
}

// Refusals of changing a system role; errors.Is finds store.ErrSystemRole behind them.
const (
	ReasonSystemEdit   = "System roles cannot be edited. Duplicate it to make a custom role from it."
	ReasonSystemDelete = "System roles cannot be deleted."
)

// CheckEditable checks that actor may edit role: roles.manage in its organisation, and a
// custom role (*rbac.ForbiddenError otherwise). The edit form and Update ask it alike.
func CheckEditable(snap *rbac.Snapshot, actorID int64, role store.RoleRow) error {
	return checkChange(snap, actorID, role, ReasonSystemEdit)
}

// CheckDeletable checks that actor may delete role: roles.manage in its organisation, and a
// custom role (*rbac.ForbiddenError otherwise). The delete panel and Delete ask it alike.
func CheckDeletable(snap *rbac.Snapshot, actorID int64, role store.RoleRow) error {
	return checkChange(snap, actorID, role, ReasonSystemDelete)
}

func checkChange(snap *rbac.Snapshot, actorID int64, role store.RoleRow, systemReason string) error {
	if !snap.Can(actorID, role.OrgID, rbac.PermRolesManage) {
		return snap.Forbidden(role.OrgID, rbac.PermRolesManage)
	}
	if role.System {
		return rbac.Refused(systemReason, store.ErrSystemRole)
	}
	return nil
}

// Form is what the Add/Edit role form sends.
type Form struct {
	Name        string
	Description string
	Status      string // "active" or "inactive"
	Permissions []string
	Version     int64             // edit only: the version the form was loaded at
	Impact      rbac.Confirmation // the impact preview's answer
}

// Service creates, edits and deletes roles.
type Service struct {
	Store  *store.Store
	Access *rbac.Engine
}

// Validate cleans f and returns problems keyed by form field (name, description, status,
// permissions). Mandatory permissions are always added.
func (s *Service) Validate(f *Form) valid.Problems {
	p := valid.Problems{}
	var msg string
	f.Name, msg = valid.Text(f.Name, true, MaxName)
	p.Add("name", msg)
	f.Description, msg = valid.Text(f.Description, false, MaxDescription)
	p.Add("description", msg)
	if f.Status != "active" && f.Status != "inactive" {
		p.Add("status", "Choose Active or Inactive.")
	}
	cat := s.Access.Catalog()
	var unknown []string
	for _, k := range f.Permissions {
		if !cat.Has(k) {
			unknown = append(unknown, k)
		}
	}
	if len(unknown) > 0 {
		p.Add("permissions", "Unknown permissions: "+strings.Join(unknown, ", ")+".")
	}
	f.Permissions = cat.Sort(append(append([]string(nil), cat.Mandatory()...), f.Permissions...))
	return p
}

// CodeProblem says what is wrong with a new role's name as the source of its code, or "".
// Letters and digits of any script will do: they are transliterated, and a name whose
// letters have no Latin form is numbered (ROLE_1, …).
func CodeProblem(name string) string {
	code := rbac.CodeFromName(name)
	switch {
	case !strings.ContainsFunc(name, func(r rune) bool { return unicode.IsLetter(r) || unicode.IsDigit(r) }):
		return "Use at least one letter or digit in the name: the role's code is made from it."
	case rbac.IsReservedCode(code):
		return fmt.Sprintf("The code %s is reserved for a system role; choose another name.", code)
	}
	return ""
}

// CodePreview is what the role form says about the code a name will get, as it is typed.
type CodePreview struct {
	Code    string `json:"code"`
	Note    string `json:"note"`
	Problem string `json:"problem,omitempty"`
}

// PreviewCode tells the code a new role named name would get, in the words the form shows
// beside it: the same rule Create applies, so the preview never promises another code.
func PreviewCode(name string) CodePreview {
	code := rbac.CodeFromName(name)
	switch {
	case strings.TrimSpace(name) == "":
		return CodePreview{Note: "made from the name; it never changes afterwards"}
	case CodeProblem(name) != "":
		return CodePreview{Code: code, Note: CodeProblem(name), Problem: CodeProblem(name)}
	case code == "":
		return CodePreview{Code: "ROLE_…", Note: "the name's letters have no Latin form, so the role is numbered when saved (ROLE_1, ROLE_2, …)"}
	case hasNonLatin(name):
		return CodePreview{Code: code, Note: "made from the name in Latin letters; it never changes afterwards"}
	}
	return CodePreview{Code: code, Note: "made from the name; it never changes afterwards"}
}

// hasNonLatin reports whether name has letters outside the Latin script, whose code is a
// transliteration rather than the letters themselves.
func hasNonLatin(name string) bool {
	for _, r := range name {
		if unicode.IsLetter(r) && !unicode.Is(unicode.Latin, r) {
			return true
		}
	}
	return false
}

// maxFallbackCodes bounds the search for a free ROLE_n code.
const maxFallbackCodes = 10000

// escalation turns a guard refusal into a message beside the permissions.
func escalation(cat *rbac.Catalog, err error) (valid.Problems, bool) {
	msg, ok := rbac.RefusalMessage(cat, err)
	if !ok {
		return nil, false
	}
	return valid.Problems{"permissions": msg}, true
}

// Create validates f and saves a new custom role in org, started by actor. It returns the
// new id, or problems to show beside the fields (nothing saved).
func (s *Service) Create(ctx context.Context, actorID, orgID int64, f Form) (int64, valid.Problems, error) {
	snap := s.Access.Now()
	if !snap.Can(actorID, orgID, rbac.PermRolesManage) {
		return 0, nil, snap.Forbidden(orgID, rbac.PermRolesManage)
	}
	p := s.Validate(&f)
	code := rbac.CodeFromName(f.Name)
	if p["name"] == "" {
		p.Add("name", CodeProblem(f.Name))
	}
	if len(p) == 0 {
		if err := snap.CheckRoleChange(actorID, 0, orgID, nil, f.Permissions); err != nil {
			if ep, ok := escalation(snap.Catalog(), err); ok {
				return 0, ep, nil
			}
			return 0, nil, err
		}
	}
	if len(p) > 0 {
		return 0, p, nil
	}
	in := store.RoleInput{OrgID: orgID, Code: code, Name: f.Name, Description: f.Description,
		Active: f.Status == "active", Permissions: f.Permissions, ActorID: actorID}
	if code == "" {
		// Letters with no Latin form: the first free ROLE_n. Each try is its own transaction,
		// so two such roles saved at once still get two numbers.
		for n := 1; n <= maxFallbackCodes; n++ {
			in.Code = rbac.FallbackCode(n)
			id, err := s.Store.CreateRole(ctx, in)
			if !errors.Is(err, store.ErrCodeTaken) {
				return id, nil, err
			}
		}
		return 0, valid.Problems{"name": "Use at least one letter or digit in the name."}, nil
	}
	id, err := s.Store.CreateRole(ctx, in)
	if errors.Is(err, store.ErrCodeTaken) {
		return 0, valid.Problems{"name": fmt.Sprintf("Another role here already has the code %s; choose another name.", code)}, nil
	}
	return id, nil, err
}

// Update validates f and saves it over role, unless someone saved since f.Version
// (*store.StaleError) or the actor may not edit it (CheckEditable).
func (s *Service) Update(ctx context.Context, actorID int64, role store.RoleRow, f Form) (valid.Problems, error) {
	snap := s.Access.Now()
	if err := CheckEditable(snap, actorID, role); err != nil {
		return nil, err
	}
	p := s.Validate(&f)
	if len(p) == 0 {
		err := snap.CheckRoleChange(actorID, role.ID, role.OrgID, role.Permissions, f.Permissions)
		if err == nil {
			err = snap.CheckRoleHolders(actorID, role.ID, snap.WithRolePermissions(role.ID, f.Permissions))
		}
		if err != nil {
			if ep, ok := escalation(snap.Catalog(), err); ok {
				return ep, nil
			}
			return nil, err
		}
	}
	if len(p) > 0 {
		return p, nil
	}
	if err := f.Impact.Allows(snap.PreviewRole(role.ID, f.Permissions)); err != nil {
		return nil, err
	}
	return nil, s.Store.UpdateRole(ctx, role.ID, f.Version, store.RoleInput{Name: f.Name, Description: f.Description,
		Active: f.Status == "active", Permissions: f.Permissions, ActorID: actorID})
}

// PreviewUpdate is the impact of saving f over role (PRODUCT.md §2.12), for someone who may
// edit it; nothing is saved.
func (s *Service) PreviewUpdate(actorID int64, role store.RoleRow, f Form) (rbac.Impact, error) {
	snap := s.Access.Now()
	if err := CheckEditable(snap, actorID, role); err != nil {
		return rbac.Impact{}, err
	}
	return snap.PreviewRole(role.ID, f.Permissions), nil
}

// PreviewDelete is the impact of deleting role as d asks, for someone who may delete it: its
// holders moved to d.ReassignTo (when that is another role of its organisation) or, with
// d.RemoveAll, left without it. A deletion that would do neither changes nothing.
func (s *Service) PreviewDelete(actorID int64, role store.RoleRow, d Deletion) (rbac.Impact, error) {
	snap := s.Access.Now()
	if err := CheckDeletable(snap, actorID, role); err != nil {
		return rbac.Impact{}, err
	}
	to := int64(0)
	if t, ok := snap.Role(d.ReassignTo); ok && d.Reassign && t.OrgID == role.OrgID && t.ID != role.ID && t.Active {
		to = t.ID
	}
	if to == 0 && !d.RemoveAll {
		return rbac.Impact{}, nil
	}
	return snap.PreviewDeletion(role.ID, to), nil
}

// PreviewHolders is the impact of SetHolders with the same people, for someone who may
// choose the role's holders; people they may not choose change nothing.
func (s *Service) PreviewHolders(actorID int64, role store.RoleRow, add, remove []int64, until int64) (rbac.Impact, error) {
	snap := s.Access.Now()
	if !snap.Can(actorID, role.OrgID, rbac.PermStaffManage) {
		return rbac.Impact{}, snap.Forbidden(role.OrgID, rbac.PermStaffManage)
	}
	choosable := func(id int64) bool { return staff.Choosable(snap, actorID, role.OrgID, role.ID, id) }
	var adds, removes []int64
	for _, id := range add {
		if choosable(id) && !snap.HoldsRole(id, role.ID) {
			adds = append(adds, id)
		}
	}
	for _, id := range remove {
		if choosable(id) {
			removes = append(removes, id)
		}
	}
	return snap.PreviewHolders(role.ID, adds, removes, until), nil
}

// Deletion is how the delete form asks for a role with holders to go: their new role
// (Reassign, with ReassignTo the role chosen, 0 when none was), or removing them all
// (RemoveAll) after typing the role's code. Neither: the role must have no holders.
type Deletion struct {
	Reassign    bool
	ReassignTo  int64
	RemoveAll   bool
	ConfirmCode string
	Impact      rbac.Confirmation
}

// ConfirmMatches reports whether typed confirms deleting a role coded code: the same code,
// in any case, ignoring spaces around it. Codes are upper case only, so nothing is lost.
func ConfirmMatches(typed, code string) bool {
	return strings.EqualFold(strings.TrimSpace(typed), code)
}

// Delete removes a custom role (CheckDeletable); see store.DeleteRole for how its holders go
// (d).
func (s *Service) Delete(ctx context.Context, actorID int64, role store.RoleRow, d Deletion) (valid.Problems, error) {
	snap := s.Access.Now()
	if err := CheckDeletable(snap, actorID, role); err != nil {
		return nil, err
	}
	if d.RemoveAll && !ConfirmMatches(d.ConfirmCode, role.Code) {
		return valid.Problems{"confirm_code": fmt.Sprintf("Type %s to confirm.", role.Code)}, nil
	}
	if d.Reassign && d.ReassignTo == 0 {
		return valid.Problems{"reassign_to": "Choose the role to give them."}, nil
	}
	reassignTo, removeAll := d.ReassignTo, d.RemoveAll
	if reassignTo != 0 {
		target, ok := snap.Role(reassignTo)
		if !ok || target.OrgID != role.OrgID || target.ID == role.ID {
			return valid.Problems{"reassign_to": "Choose another role of this organisation."}, nil
		}
		if !target.Active {
			return valid.Problems{"reassign_to": "That role is inactive and cannot take new holders."}, nil
		}
		holders := s.holders(snap, role.ID)
		var add []rbac.Assignment
		for _, h := range holders {
			add = append(add, rbac.Assignment{UserID: h.UserID, RoleID: reassignTo, OrgID: h.OrgID})
		}
		if err := snap.CheckAssignments(actorID, add); err != nil {
			if ep, ok := escalation(snap.Catalog(), err); ok {
				return valid.Problems{"reassign_to": ep["permissions"]}, nil
			}
			return nil, err
		}
	}
	if reassignTo != 0 || removeAll {
		field := "confirm_code"
		if reassignTo != 0 {
			field = "reassign_to"
		}
		if err := snap.CheckRoleHolders(actorID, role.ID, snap.WithoutRole(role.ID, reassignTo)); err != nil {
			if ep, ok := escalation(snap.Catalog(), err); ok {
				return valid.Problems{field: ep["permissions"]}, nil
			}
			return nil, err
		}
	}
	if reassignTo != 0 || removeAll {
		if err := d.Impact.Allows(snap.PreviewDeletion(role.ID, reassignTo)); err != nil {
			return nil, err
		}
	}
	return nil, s.Store.DeleteRole(ctx, role.ID, reassignTo, removeAll, actorID)
}

func (s *Service) holders(snap *rbac.Snapshot, roleID int64) []rbac.Assignment {
	var out []rbac.Assignment
	for a := range snap.Assignments() {
		if a.RoleID == roleID {
			out = append(out, a)
		}
	}
	return out
}

// Move is a person whom saving a role's holders moves to it from another role of the
// organisation (role mode "one role per person").
type Move struct {
	UserID int64
	Name   string
	From   string // the role they leave
}

// Moves lists the people among add whom SetHolders would move to role from another role they
// hold in its organisation, when that organisation gives each person one role; empty
// otherwise. The page names them after saving.
func (s *Service) Moves(role store.RoleRow, add []int64) []Move {
	snap := s.Access.Now()
	if !snap.OneRole(role.OrgID) {
		return nil
	}
	var out []Move
	for _, id := range add {
		for _, r := range snap.RolesIn(id, role.OrgID) {
			if r == role.ID {
				continue
			}
			u, _ := snap.User(id)
			from, _ := snap.Role(r)
			out = append(out, Move{UserID: id, Name: u.Name, From: from.Name})
		}
	}
	return out
}

// Candidates is one page of the people actor may choose as holders of role (member
// visibility, staff.MemberScope), matching q, those who hold it first; and how many match.
func (s *Service) Candidates(ctx context.Context, actorID int64, role store.RoleRow, q string, limit, offset int) ([]store.Candidate, int, error) {
	return s.Store.MemberCandidates(ctx, role.ID, staff.MemberScope(s.Access.Now(), actorID, role.OrgID), q, limit, offset)
}

// SetHolders adds and removes holders of role in one step, within the escalation guard and
// after confirm (rbac.Confirmation).
// Only people the actor may choose may be named (staff.Choosable: those Candidates lists). In an
// organisation with one role per person, adding someone moves them from the role they held
// there (see Moves); the store makes the move in the same transaction. until, when not 0,
// is when the role ends for those added (Unix seconds, in the future).
func (s *Service) SetHolders(ctx context.Context, actorID int64, role store.RoleRow, add, remove []int64, until int64, confirm rbac.Confirmation) (valid.Problems, error) {
	snap := s.Access.Now()
	if !snap.Can(actorID, role.OrgID, rbac.PermStaffManage) {
		return nil, snap.Forbidden(role.OrgID, rbac.PermStaffManage)
	}
	if until != 0 && until <= s.Store.Now().Unix() {
		return valid.Problems{"until": "Choose an end in the future."}, nil
	}
	for _, id := range append(append([]int64(nil), add...), remove...) {
		if !staff.Choosable(snap, actorID, role.OrgID, role.ID, id) {
			return valid.Problems{"members": "Some of the people chosen are not in this organisation."}, nil
		}
	}
	// Taking the role away, or moving someone to it from their role here (one role per
	// person), acts on them: never on someone whose access exceeds the actor's.
	acted := map[int64][]int64{}
	for _, u := range remove {
		for a := range snap.Assignments() {
			if a.UserID == u && a.RoleID == role.ID {
				acted[u] = append(acted[u], a.OrgID)
			}
		}
	}
	for _, m := range s.Moves(role, add) {
		acted[m.UserID] = append(acted[m.UserID], role.OrgID)
	}
	people := make([]int64, 0, len(acted))
	for u := range acted {
		people = append(people, u)
	}
	slices.Sort(people)
	for _, u := range people {
		if err := snap.CheckActOn(actorID, u, acted[u]...); err != nil {
			if ep, ok := escalation(snap.Catalog(), err); ok {
				who, _ := snap.User(u)
				return valid.Problems{"members": who.Name + ": " + ep["permissions"]}, nil
			}
			return nil, err
		}
	}
	var want []rbac.Assignment
	for _, u := range add {
		if !snap.HoldsRole(u, role.ID) {
			want = append(want, rbac.Assignment{UserID: u, RoleID: role.ID, OrgID: role.OrgID})
		}
	}
	if len(want) > 0 {
		if err := snap.CheckAssignments(actorID, want); err != nil {
			if ep, ok := escalation(snap.Catalog(), err); ok {
				return valid.Problems{"members": ep["permissions"]}, nil
			}
			return nil, err
		}
	}
	adds := make([]int64, len(want))
	for i, a := range want {
		adds[i] = a.UserID
	}
	if err := confirm.Allows(snap.PreviewHolders(role.ID, adds, remove, until)); err != nil {
		return nil, err
	}
	return nil, s.Store.SetRoleHoldersUntil(ctx, role.ID, role.OrgID, adds, remove, actorID, until)
}

// Selection is a Select members form in progress: whom the admin ticked who does not hold
// the role yet (Add), and whom they unticked who holds it (Remove), over every page and
// search they went through before saving. Both are sorted and hold no duplicates.
type Selection struct {
	Add    []int64
	Remove []int64
}

// ReadSelection is the selection a members form sent (PRODUCT.md §3): shown lists every
// person the form had a box for, ticked the boxes ticked. A shown person is to hold the role
// exactly when ticked; a ticked person not shown is to hold it too. holds says who holds it
// now; a person left as they are is in neither list.
func ReadSelection(shown, ticked []int64, holds func(int64) bool) Selection {
	want := map[int64]bool{}
	for _, id := range shown {
		want[id] = false
	}
	for _, id := range ticked {
		want[id] = true
	}
	var sel Selection
	for id, w := range want {
		switch {
		case w && !holds(id):
			sel.Add = append(sel.Add, id)
		case !w && holds(id):
			sel.Remove = append(sel.Remove, id)
		}
	}
	slices.Sort(sel.Add)
	slices.Sort(sel.Remove)
	return sel
}

// Empty reports whether the selection changes nothing.
func (s Selection) Empty() bool { return len(s.Add) == 0 && len(s.Remove) == 0 }

// Ticked reports whether the box of a person who holds the role exactly when holds should be
// ticked under the selection.
func (s Selection) Ticked(id int64, holds bool) bool {
	if holds {
		_, removed := slices.BinarySearch(s.Remove, id)
		return !removed
	}
	_, added := slices.BinarySearch(s.Add, id)
	return added
}
