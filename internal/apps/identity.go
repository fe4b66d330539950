package apps

import (
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/rolegate/rolegate/internal/rbac"
	"github.com/rolegate/rolegate/internal/store"
)

// IdentityHeaders are the five headers of §2.9 that say who the proxied request is, in the
// order of Identity.Values. All five are on every 200, empty when nothing, so a proxy that
// copies them overwrites whatever the client sent.
var IdentityHeaders = [5]string{"Remote-User", "Remote-Email", "Remote-Name", "Remote-Groups", "Remote-Permissions"}

// Identity is who the proxied request is, as the identity headers say it.
type Identity struct {
	UserID      int64
	Email, Name string
	// Groups are the codes of the roles that apply in the application's organisation (held
	// there or above); Permissions the catalog keys held there.
	Groups, Permissions []string
	// Values are the identity headers' values, in IdentityHeaders order, each a slice of
	// one, ready to be a response header's value.
	Values [5][]string
	// Emergency: the person holds emergency access that reaches the application's
	// organisation (Remote-Emergency: 1). Until is when this identity must be worked out
	// again (a time-bound grant's end; 0: not before the snapshot changes).
	Emergency bool
	Until     int64
}

// EmergencyHeader says, on every allowed answer, whether the person is using emergency
// access there: "1", or empty (so a proxy copying it overwrites what a client sent).
const EmergencyHeader = "Remote-Emergency"

// nobody is the identity of an anonymous request through a public path.
var nobody = identityFor(0, "", "", nil, nil)

// IdentityOf is u as the identity headers name them in org.
func IdentityOf(snap *rbac.Snapshot, u store.User, orgID int64) *Identity {
	var groups []string
	for _, o := range snap.Ancestry(orgID) {
		for _, rid := range snap.RolesIn(u.ID, o) {
			if r, ok := snap.Role(rid); ok && !slices.Contains(groups, r.Code) {
				groups = append(groups, r.Code)
			}
		}
	}
	slices.Sort(groups)
	id := identityFor(u.ID, u.Email, u.Name, groups, snap.Effective(u.ID, orgID))
	id.Emergency, id.Until = snap.InEmergency(u.ID, orgID), snap.NextEnd(u.ID)
	return &id
}

func identityFor(userID int64, email, name string, groups, perms []string) Identity {
	user := ""
	if userID != 0 {
		user = strconv.FormatInt(userID, 10)
	}
	return Identity{UserID: userID, Email: email, Name: name, Groups: groups, Permissions: perms,
		Values: [5][]string{{user}, {headerSafe(email)}, {PercentEncode(name)}, {strings.Join(groups, ",")}, {strings.Join(perms, ",")}}}
}

// headerSafe drops what a header value may not carry.
func headerSafe(s string) string {
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return -1
		}
		return r
	}, s)
}

// PercentEncode encodes every byte of s's UTF-8 but the unreserved characters of RFC 3986, as
// Remote-Name carries names ("María López" is "Mar%C3%ADa%20L%C3%B3pez").
func PercentEncode(s string) string {
	const hex = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		ch := s[i]
		if ch >= 'A' && ch <= 'Z' || ch >= 'a' && ch <= 'z' || ch >= '0' && ch <= '9' || ch == '-' || ch == '.' || ch == '_' || ch == '~' {
			b.WriteByte(ch)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hex[ch>>4])
		b.WriteByte(hex[ch&15])
	}
	return b.String()
}

// identities remembers the identity of each person at each application for one snapshot: a
// tool's pages ask for the same person again and again, and working out the groups and
// permissions and encoding them was a third of a decision.
type identities struct {
	mu   sync.Mutex
	snap *rbac.Snapshot
	byID map[identityKey]*Identity
}

type identityKey struct{ user, app int64 }

// maxIdentities bounds what is remembered: past it, the set starts again.
const maxIdentities = 10_000

func (s *Service) identity(snap *rbac.Snapshot, u *store.User, app store.App) *Identity {
	c := &s.ids
	k := identityKey{u.ID, app.ID}
	c.mu.Lock()
	id, ok := c.byID[k]
	fresh := c.snap == snap
	c.mu.Unlock()
	// The snapshot changes with every access change, a person's name and address included;
	// the person compared is the session's, read at this request's counters.
	if ok && fresh && id.Email == u.Email && id.Name == u.Name && (id.Until == 0 || snap.Now().Unix() < id.Until) {
		return id
	}
	id = IdentityOf(snap, *u, app.OrgID)
	c.mu.Lock()
	if c.snap != snap || len(c.byID) >= maxIdentities {
		c.snap, c.byID = snap, make(map[identityKey]*Identity)
	}
	c.byID[k] = id
	c.mu.Unlock()
	return id
}
