package rbac

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
)

func TestSystemRolesDefaultCatalog(t *testing.T) {
	c := DefaultCatalog()
	want := []struct {
		code, name, desc string
		perms            []string
	}{
		{CodeAdmin, "Administrator", "Manages the practice and everyone's access.", c.Keys()},
		{CodeAccessController, "Access Controller", "Invites staff, picks their roles and keeps roles tidy.", []string{
			"patients.view", "roles.manage", "staff.manage", "staff.view", "audit.view", "access.delegate"}},
		{CodeOfficeManager, "Office Manager", "Manages the office and other staff/provider accounts.", []string{
			"patients.view", "patients.identifiers", "patients.manage", "patients.contact", "patients.export", "patients.share",
			"scheduling.access", "scheduling.all_providers",
			"billing.view",
			"roles.manage", "staff.manage", "staff.view", "audit.view", "access.delegate"}},
		{CodeProvider, "Provider", "Clinician with access to all clinical work.", []string{
			"patients.view", "patients.identifiers", "patients.manage", "patients.contact", "patients.export", "patients.offboard", "patients.share",
			"scheduling.access", "scheduling.all_providers",
			"clinical.drug_interactions", "clinical.erx", "emergency.request"}},
		{CodeNurse, "Nurse", "Nurse / PA who requires a supervising signature.", []string{
			"patients.view", "patients.identifiers", "patients.contact", "scheduling.access", "clinical.drug_interactions", "emergency.request"}},
		{CodeStaff, "Staff", "Fundamental front-desk tasks.", []string{
			"patients.view", "patients.identifiers", "patients.contact", "scheduling.access"}},
		{CodeBillingStaff, "Billing Staff", "Billing information only.", []string{
			"patients.view", "patients.identifiers", "billing.view", "billing.manage"}},
		{CodeMember, "Member", "Baseline access for every staff member.", []string{"patients.view"}},
	}
	got := SystemRoles(c)
	if len(got) != len(want) {
		t.Fatalf("SystemRoles returned %d roles, want %d", len(got), len(want))
	}
	for i, w := range want {
		t.Run(w.code, func(t *testing.T) {
			r := got[i]
			if r.Code != w.code || r.Name != w.name || r.Description != w.desc {
				t.Errorf("role %d = %q %q %q, want %q %q %q", i, r.Code, r.Name, r.Description, w.code, w.name, w.desc)
			}
			if !slices.Equal(r.Permissions, w.perms) {
				t.Errorf("%s permissions\n got %v\nwant %v", w.code, r.Permissions, w.perms)
			}
			if !IsReservedCode(r.Code) {
				t.Errorf("system code %q is not reserved", r.Code)
			}
			if CodeFromName(r.Name) != r.Code && r.Code != CodeAdmin {
				t.Errorf("code %q does not follow the name %q", r.Code, r.Name)
			}
		})
	}
	t.Run("ADMIN has every key", func(t *testing.T) {
		if len(got[0].Permissions) != 21 {
			t.Errorf("ADMIN has %d permissions, want 21", len(got[0].Permissions))
		}
	})
	t.Run("fresh slices", func(t *testing.T) {
		a := SystemRoles(c)
		a[0].Permissions[0] = "mutated"
		if c.Keys()[0] != "patients.view" || SystemRoles(c)[0].Permissions[0] != "patients.view" {
			t.Errorf("SystemRoles shares its slices with the catalog")
		}
	})
}

// catalogWithout returns the default catalog minus some categories.
func catalogWithout(t *testing.T, drop ...string) *Catalog {
	t.Helper()
	var perms []Permission
	for _, p := range DefaultCatalog().Permissions() {
		if !slices.Contains(drop, p.Category) {
			perms = append(perms, p)
		}
	}
	data, err := json.Marshal(perms)
	if err != nil {
		t.Fatal(err)
	}
	return mustCatalog(t, string(data))
}

func TestSystemRolesInvariants(t *testing.T) {
	catalogs := []struct {
		name string
		c    *Catalog
	}{
		{"default", DefaultCatalog()},
		{"no billing", catalogWithout(t, "Billing")},
		{"no billing, no clinical", catalogWithout(t, "Billing", "Clinical")},
		{"travel", mustCatalog(t, travelCatalog)},
		{"tiny", mustCatalog(t, `[{"key": "only.one", "category": "X", "label": "One"}]`)},
	}
	for _, cc := range catalogs {
		t.Run(cc.name, func(t *testing.T) {
			c := cc.c
			roles := SystemRoles(c)
			if len(roles) != 8 {
				t.Fatalf("%d roles, want 8", len(roles))
			}
			codes := map[string]bool{}
			for _, r := range roles {
				if codes[r.Code] {
					t.Errorf("duplicate code %q", r.Code)
				}
				codes[r.Code] = true
				for _, k := range r.Permissions {
					if !c.Has(k) {
						t.Errorf("%s names %q, unknown to the catalog", r.Code, k)
					}
				}
				for _, m := range c.Mandatory() {
					if !slices.Contains(r.Permissions, m) {
						t.Errorf("%s lacks mandatory %q", r.Code, m)
					}
				}
				if sorted := c.Sort(r.Permissions); !slices.Equal(sorted, r.Permissions) {
					t.Errorf("%s permissions %v are not in catalog order or have duplicates", r.Code, r.Permissions)
				}
			}
			if !slices.Equal(roles[0].Permissions, c.Keys()) {
				t.Errorf("ADMIN = %v, want every key %v", roles[0].Permissions, c.Keys())
			}
			if !sameKeys(roles[7].Permissions, c.Mandatory()) {
				t.Errorf("MEMBER = %v, want the mandatory keys %v", roles[7].Permissions, c.Mandatory())
			}
		})
	}

	t.Run("no billing specifics", func(t *testing.T) {
		c := catalogWithout(t, "Billing")
		byCode := map[string][]string{}
		for _, r := range SystemRoles(c) {
			byCode[r.Code] = r.Permissions
		}
		if want := []string{"patients.view", "patients.identifiers"}; !slices.Equal(byCode[CodeBillingStaff], want) {
			t.Errorf("BILLING_STAFF = %v, want %v", byCode[CodeBillingStaff], want)
		}
		if slices.Contains(byCode[CodeOfficeManager], "billing.view") {
			t.Errorf("OFFICE_MANAGER names billing.view in a catalog without it")
		}
		if len(byCode[CodeAdmin]) != 19 {
			t.Errorf("ADMIN has %d permissions, want 19", len(byCode[CodeAdmin]))
		}
	})

	t.Run("travel specifics", func(t *testing.T) {
		c := mustCatalog(t, travelCatalog)
		byCode := map[string][]string{}
		for _, r := range SystemRoles(c) {
			byCode[r.Code] = r.Permissions
		}
		want := map[string][]string{
			CodeAccessController: {"bookings.view", "roles.manage", "staff.manage", "staff.view", "audit.view", "access.delegate"},
			CodeOfficeManager:    {"bookings.view", "roles.manage", "staff.manage", "staff.view", "audit.view", "access.delegate"},
			CodeProvider:         {"bookings.view"},
			CodeNurse:            {"bookings.view"},
			CodeStaff:            {"bookings.view"},
			CodeBillingStaff:     {"bookings.view"},
			CodeMember:           {"bookings.view"},
		}
		for code, w := range want {
			if !slices.Equal(byCode[code], w) {
				t.Errorf("%s = %v, want %v", code, byCode[code], w)
			}
		}
	})
}

func TestPowerfulGrants(t *testing.T) {
	cat := DefaultCatalog()
	if got := PowerfulGrants(cat, []string{"patients.view", "access.delegate", "staff.view", "roles.manage"}); strings.Join(got, "|") != "Edit roles and permissions|Grant any permission" {
		t.Fatalf("got %q", got)
	}
	if got := PowerfulGrants(cat, []string{"patients.view", "staff.view", "audit.view"}); len(got) != 0 {
		t.Fatalf("an ordinary role warns: %q", got)
	}
}
