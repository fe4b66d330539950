package rbac

import (
	"math/rand"
	"testing"
)

// HoldersOf (the API's reverse look-up) answers what asking Explain of every person would:
// for random worlds, every organisation and permission, the same people with the same
// decisions, in id order — staff of the organisations above included, whose grants apply
// below.
func TestHoldersOfAgreesWithExplain(t *testing.T) {
	rng := rand.New(rand.NewSource(11))
	for range 300 {
		w := genWorld(rng)
		s := NewSnapshot(w.cat, w.d)
		for _, o := range w.d.Orgs {
			for _, perm := range w.cat.Keys() {
				var want []Holder
				for _, u := range w.d.Users {
					if d := s.Explain(u.ID, o.ID, perm); d.Allowed {
						want = append(want, Holder{u.ID, d})
					}
				}
				got := s.HoldersOf(o.ID, perm)
				if len(got) != len(want) {
					t.Fatalf("org %d %s: %d holders, Explain says %d", o.ID, perm, len(got), len(want))
				}
				for i := range got {
					if got[i] != want[i] {
						t.Fatalf("org %d %s: holder %d is %+v, Explain says %+v", o.ID, perm, i, got[i], want[i])
					}
				}
			}
		}
	}
}
