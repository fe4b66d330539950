package orgs

import (
	"slices"
	"strconv"
	"strings"

	"github.com/rolegate/rolegate/internal/rbac"
)

// Path is an organisation's name with those above it, top first.
func Path(snap *rbac.Snapshot, id int64) []string {
	chain := snap.Ancestry(id)
	names := make([]string, len(chain))
	for i, anc := range chain {
		o, _ := snap.Org(anc)
		names[len(chain)-1-i] = o.Name
	}
	return names
}

// Label names an organisation in a picker: "Northside Practice › Eastside Clinic".
func Label(snap *rbac.Snapshot, id int64) string { return strings.Join(Path(snap, id), " › ") }

// TreeOrder sorts organisation ids as the tree reads: each one followed by those below it,
// siblings by name (ignoring case).
func TreeOrder(snap *rbac.Snapshot, ids []int64) []int64 {
	out := slices.Clone(ids)
	key := func(id int64) []string {
		p := Path(snap, id)
		for i := range p {
			p[i] = strings.ToLower(p[i])
		}
		return p
	}
	slices.SortStableFunc(out, func(x, y int64) int { return slices.Compare(key(x), key(y)) })
	return out
}

// Where lists the organisations in which actor holds any of perms, in id order: the choices
// of a page's organisation picker.
func Where(snap *rbac.Snapshot, actorID int64, perms ...string) []int64 {
	var ids []int64
	for _, id := range snap.AllOrgs() {
		if slices.ContainsFunc(perms, func(p string) bool { return snap.Can(actorID, id, p) }) {
			ids = append(ids, id)
		}
	}
	return ids
}

// Choice is a page's organisation picker: the organisations where the actor holds one of the
// page's permissions, in tree order, and the one the request is about.
type Choice struct {
	IDs    []int64
	Chosen int64
}

// Choose resolves the organisation a request names (requested; 0 when it names none: the
// first of them) among those where actor holds any of perms. It refuses
// (*rbac.ForbiddenError) when there are none, or when requested is an organisation outside
// them; a requested id that names no organisation (negative: what the request said was not
// an id) is rbac.ErrNotFound.
func Choose(snap *rbac.Snapshot, actorID, requested int64, perms ...string) (Choice, error) {
	ids := Where(snap, actorID, perms...)
	if len(ids) == 0 {
		return Choice{}, rbac.NeedsAny(perms...)
	}
	chosen := ids[0]
	if requested != 0 {
		if !slices.Contains(ids, requested) {
			if _, known := snap.Org(requested); known {
				return Choice{}, rbac.NeedsAny(perms...)
			}
			return Choice{}, rbac.ErrNotFound
		}
		chosen = requested
	}
	return Choice{IDs: TreeOrder(snap, ids), Chosen: chosen}, nil
}

// RequestedID reads an organisation id as a request names it, for Choose: "" is 0 (none
// named), anything that is not a positive id is -1 (names no organisation).
func RequestedID(raw string) int64 {
	if raw == "" {
		return 0
	}
	n, err := strconv.ParseInt(raw, 10, 64)
	if err != nil || n <= 0 {
		return -1
	}
	return n
}
