package rbac

import (
	"errors"
	"testing"
)

func TestForbiddenError(t *testing.T) {
	s := peopleSnapshot()
	own := errors.New("the domain's own")
	for _, tc := range []struct {
		name    string
		err     *ForbiddenError
		text    string
		global  bool
		wrapped error
	}{
		{"a permission in an organisation", s.Forbidden(1, PermStaffManage), "rbac: needs staff.manage in O", false, nil},
		{"any of them, anywhere", NeedsAny(PermRolesManage, PermStaffView), "rbac: needs roles.manage or staff.view", false, nil},
		{"nowhere would do", s.Forbidden(0, PermStaffManage), "rbac: only a global admin may do this", true, nil},
		{"only a global admin, saying what", GlobalAdminOnly("Only a global admin moves it.", own), "rbac: forbidden: Only a global admin moves it.", true, own},
		{"a reason no permission lifts", Refused("System roles cannot be deleted.", own), "rbac: forbidden: System roles cannot be deleted.", false, own},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var err error = tc.err
			var fe *ForbiddenError
			if !errors.As(err, &fe) || fe.Error() != tc.text || fe.GlobalAdmin != tc.global {
				t.Fatalf("%+v: %q", fe, err)
			}
			if tc.wrapped != nil && !errors.Is(err, tc.wrapped) {
				t.Errorf("errors.Is does not reach the domain's error")
			}
		})
	}
}
