package rbac

import (
	_ "embed"
	"strconv"
	"strings"
	"unicode"

	"github.com/gosimple/unidecode"
	"golang.org/x/text/unicode/norm"
)

//go:embed default_catalog.json
var defaultCatalogJSON []byte

var defaultCatalog = func() *Catalog {
	c, err := ParseCatalog(defaultCatalogJSON)
	if err != nil {
		panic("rbac: built-in catalog: " + err.Error())
	}
	return c
}()

// DefaultCatalog is the built-in catalog for a medical practice (PRODUCT.md §1.1).
func DefaultCatalog() *Catalog { return defaultCatalog }

// Permission keys the portal itself checks. They must exist in every catalog a deployment
// loads, because Rolegate's own pages are guarded by them.
const (
	PermRolesManage = "roles.manage"
	PermStaffManage = "staff.manage"
	PermStaffView   = "staff.view"
	PermOrgsManage  = "orgs.manage"
	PermAuditView   = "audit.view"
	PermDelegate    = "access.delegate"
	// PermIntegrations guards API tokens (/integrations). Not required of a catalog: without
	// it only global admins manage tokens.
	PermIntegrations = "integrations.manage"
	// PermEmergency takes time-boxed emergency access to what an organisation allows (§2.11).
	PermEmergency = "emergency.request"
)

// AdminPermissions are the administration keys every catalog must carry.
var AdminPermissions = []string{PermRolesManage, PermStaffManage, PermStaffView, PermOrgsManage, PermAuditView, PermDelegate}

// PowerfulPermissions are the keys that hand over the portal itself: whoever holds one can
// change roles, people, organisations, or grant anything. Every role picker warns before one
// of them is given.
var PowerfulPermissions = []string{PermRolesManage, PermStaffManage, PermOrgsManage, PermDelegate}

// PowerfulGrants lists, by label and in the order of PowerfulPermissions, the powerful
// permissions among perms: what a role picker warns about. Empty for an ordinary role.
func PowerfulGrants(cat *Catalog, perms []string) []string {
	var out []string
	for _, k := range PowerfulPermissions {
		for _, p := range perms {
			if p == k {
				out = append(out, cat.Label(k))
				break
			}
		}
	}
	return out
}

// RoleTemplate describes a system role to seed.
type RoleTemplate struct {
	Code        string
	Name        string
	Description string
	Permissions []string
}

// System role codes.
const (
	CodeAdmin            = "ADMIN"
	CodeAccessController = "ACCESS_CONTROLLER"
	CodeOfficeManager    = "OFFICE_MANAGER"
	CodeProvider         = "PROVIDER"
	CodeNurse            = "NURSE"
	CodeStaff            = "STAFF"
	CodeBillingStaff     = "BILLING_STAFF"
	CodeMember           = "MEMBER"
)

// SystemRoles returns the system roles of PRODUCT.md §1.2 for catalog c. With another
// catalog, permissions it lacks are left out; ADMIN still holds all and MEMBER the mandatory ones.
func SystemRoles(c *Catalog) []RoleTemplate {
	category := func(names ...string) []string {
		var out []string
		for _, cat := range c.Categories() {
			for _, n := range names {
				if cat.Name == n {
					for _, p := range cat.Permissions {
						out = append(out, p.Key)
					}
				}
			}
		}
		return out
	}
	with := func(keys ...string) []string {
		out := append([]string(nil), c.Mandatory()...)
		for _, k := range keys {
			if c.Has(k) {
				out = append(out, k)
			}
		}
		return c.Sort(out)
	}
	without := func(keys []string, drop ...string) []string {
		var out []string
		for _, k := range keys {
			keep := true
			for _, d := range drop {
				keep = keep && k != d
			}
			if keep {
				out = append(out, k)
			}
		}
		return out
	}
	patients := category("Patients")
	// Tokens let other tools act with their creator's access: only Administrators (and global
	// admins) hold integrations.manage among the system roles.
	admin := without(category("Administration"), PermOrgsManage, PermIntegrations)
	return []RoleTemplate{
		{CodeAdmin, "Administrator", "Manages the practice and everyone's access.", c.Keys()},
		{CodeAccessController, "Access Controller", "Invites staff, picks their roles and keeps roles tidy.",
			with(PermRolesManage, PermStaffManage, PermStaffView, PermAuditView, PermDelegate)},
		{CodeOfficeManager, "Office Manager", "Manages the office and other staff/provider accounts.",
			with(append(append(append(without(patients, "patients.offboard"), category("Scheduling")...), "billing.view"), admin...)...)},
		{CodeProvider, "Provider", "Clinician with access to all clinical work.", with(append(category("Patients", "Scheduling", "Clinical"), PermEmergency)...)},
		{CodeNurse, "Nurse", "Nurse / PA who requires a supervising signature.",
			with("patients.view", "patients.identifiers", "patients.contact", "scheduling.access", "clinical.drug_interactions", PermEmergency)},
		{CodeStaff, "Staff", "Fundamental front-desk tasks.", with("patients.view", "patients.identifiers", "patients.contact", "scheduling.access")},
		{CodeBillingStaff, "Billing Staff", "Billing information only.", with(append([]string{"patients.view", "patients.identifiers"}, category("Billing")...)...)},
		{CodeMember, "Member", "Baseline access for every staff member.", with()},
	}
}

// MaxCodeLen bounds generated codes.
const MaxCodeLen = 48

// CodeFromName derives a role code from its name: "Travel Coordinator" → "TRAVEL_COORDINATOR".
// Letters are written in Latin letters (transliterated by gosimple/unidecode: "Zoë" → "ZOE",
// "Медсестра" → "MEDSESTRA", "ممرضة" → "MMRD"), upper-cased; every run of other characters
// becomes one "_"; leading and trailing "_" are trimmed. A name with nothing to transliterate
// (emoji, symbols) yields "": the caller numbers such roles (FallbackCode).
func CodeFromName(name string) string {
	var b strings.Builder
	pendingSep := false
	for _, r := range unidecode.Unidecode(norm.NFC.String(name)) {
		r = unicode.ToUpper(r)
		if r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' {
			if pendingSep && b.Len() > 0 {
				b.WriteByte('_')
			}
			pendingSep = false
			b.WriteRune(r)
			continue
		}
		pendingSep = true
	}
	code := b.String()
	if len(code) > MaxCodeLen {
		code = strings.TrimRight(code[:MaxCodeLen], "_")
	}
	return code
}

// FallbackCode is the n-th code given to roles whose names yield none: ROLE_1, ROLE_2, ….
func FallbackCode(n int) string { return "ROLE_" + strconv.Itoa(n) }

// reserved holds the codes no custom role may take (PRODUCT.md §1.2).
var reserved = map[string]bool{
	"MEMBER": true, "MANAGER": true, "ADMIN": true,
	CodeAccessController: true, CodeOfficeManager: true, CodeProvider: true, CodeNurse: true, CodeStaff: true, CodeBillingStaff: true,
}

// IsReservedCode reports whether code belongs to the system.
func IsReservedCode(code string) bool { return reserved[code] }
