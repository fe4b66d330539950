package rbac

import "iter"

// UserOverrides yields every user-level override, by person in id order: the access report
// lists them beside the roles, without copying everyone's facts as Data does.
func (s *Snapshot) UserOverrides() iter.Seq[UserOverride] {
	return func(yield func(UserOverride) bool) {
		for u := range s.users.all() {
			for _, ov := range u.overrideList {
				if !yield(ov) {
					return
				}
			}
		}
	}
}

// Live reports whether a grant ending at until (0: never) still grants at the snapshot's
// time: what a list of who holds what shows, and what it leaves out as ended.
func (s *Snapshot) Live(until int64) bool { return s.live(until) }
