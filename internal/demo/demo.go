// Package demo fills a fresh database with a sample group practice, so a newcomer can try
// every page at once: a parent practice with two locations, forty staff with realistic
// names, several custom roles held by them and a few overrides. Asked for more staff (demo
// --staff N), it spreads them over more locations, about five hundred a clinic, so that
// anyone can try the portal, and the benchmarks can measure it, at the scale of a large
// group of practices.
package demo

import (
	"context"
	crand "crypto/rand"
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"strings"

	"github.com/rolegate/rolegate/internal/auth"
	"github.com/rolegate/rolegate/internal/rbac"
	"github.com/rolegate/rolegate/internal/store"
)

// AdminEmail is the demo's global admin.
const AdminEmail = "ana.ruiz@harbour-health.example"

var firstNames = []string{"Amara", "Ben", "Chloé", "Dev", "Elena", "Farid", "Grace", "Hiro", "Ines", "Jonas", "Kemi", "Liam",
	"Maya", "Nikolai", "Olga", "Priya", "Quentin", "Rosa", "Sami", "Tomasz", "Uma", "Victor", "Wen", "Ximena", "Yusuf",
	"Zoë", "Aisha", "Bruno", "Carmen", "Diego", "Emeka", "Fatima", "Gustav", "Hana", "Ivan", "Julia", "Kofi", "Lucia", "Mateo", "Noor"}

var lastNames = []string{"Okafor", "Martin", "Patel", "Rossi", "Haddad", "Nakamura", "Silva", "Schmidt", "Adeyemi", "Novak",
	"Kowalski", "Fernández", "Nguyen", "Müller", "Costa", "Johansson", "Mensah", "Dubois", "Kim", "Oliveira"}

// customRole is a sample custom role: name, description, permissions, active.
type customRole struct {
	name, desc string
	perms      []string
	active     bool
}

var customRoles = []customRole{
	{"Front Desk Lead", "Runs reception and the appointment book for every provider.", []string{"patients.identifiers", "patients.contact", "scheduling.access", "scheduling.all_providers", "staff.view"}, true},
	{"Travel Nurse", "Agency nurse covering shifts at either location.", []string{"patients.identifiers", "patients.contact", "scheduling.access", "clinical.drug_interactions"}, true},
	{"Billing Supervisor", "Reviews claims and handles payment disputes.", []string{"patients.identifiers", "billing.view", "billing.manage", "audit.view"}, true},
	{"Telehealth Provider", "Sees patients remotely; prescribes through eRx.", []string{"patients.identifiers", "patients.manage", "patients.contact", "scheduling.access", "clinical.drug_interactions", "clinical.erx"}, true},
	{"Data Export Clerk", "Prepares exports for referrals and audits.", []string{"patients.identifiers", "patients.export"}, true},
	{"Summer Intern", "Read-only shadowing for the summer programme.", []string{"scheduling.access"}, false},
}

// DefaultStaff is how many staff the demo has unless asked for more.
const DefaultStaff = 40

// MaxStaff bounds --staff: a million people is no longer a demo.
const MaxStaff = 1_000_000

// perClinic is about how many staff each clinic of a large demo has.
const perClinic = 500

var clinicNames = []string{"Northside Clinic", "Southside Clinic", "Eastside Clinic", "Westside Clinic", "Harbour Clinic", "Riverside Clinic",
	"Hillcrest Clinic", "Old Town Clinic", "Parkview Clinic", "Lakeside Clinic"}

// clinicName is the n-th clinic's name (from 0): the ten above, then numbered.
func clinicName(n int) string {
	if n < len(clinicNames) {
		return clinicNames[n]
	}
	return fmt.Sprintf("%s %d", clinicNames[n%len(clinicNames)], n/len(clinicNames)+1)
}

// Seed fills st (which must be fresh) with staff people (DefaultStaff when 0) and returns
// the admin's password: password if given, else a random one.
func Seed(ctx context.Context, st *store.Store, cat *rbac.Catalog, password string, staff int) (string, error) {
	if staff == 0 {
		staff = DefaultStaff
	}
	if staff < 1 || staff > MaxStaff {
		return "", fmt.Errorf("demo: --staff %d: give between 1 and %d", staff, MaxStaff)
	}
	need, err := st.NeedsSetup(ctx)
	if err != nil {
		return "", err
	}
	if !need {
		return "", fmt.Errorf("demo: the database is not empty; give a new --db file, or add --force to replace a demo practice with a new one and a new password (make demo ARGS=--force)")
	}
	if password == "" {
		password = randomPassword()
	}
	if msg := auth.CheckPasswordPolicy(password, AdminEmail, "Ana Ruiz", "Harbour Health Group"); msg != "" {
		return "", fmt.Errorf("demo: password: %s", msg)
	}
	hash, err := auth.HashPassword(ctx, password)
	if err != nil {
		return "", err
	}
	admin, group, err := st.Setup(ctx, store.SetupInput{OrgName: "Harbour Health Group", Name: "Ana Ruiz", Email: AdminEmail,
		PasswordHash: hash, SystemRoles: rbac.SystemRoles(cat)})
	if err != nil {
		return "", err
	}
	clinics := make([]int64, max(2, (staff+perClinic-1)/perClinic))
	for i := range clinics {
		if clinics[i], err = st.CreateOrganisation(ctx, clinicName(i), group.ID); err != nil {
			return "", err
		}
	}
	roleIDs := map[string]int64{}
	for _, r := range customRoles {
		perms := []string{}
		for _, p := range append(cat.Mandatory(), r.perms...) {
			if cat.Has(p) {
				perms = append(perms, p)
			}
		}
		id, err := st.CreateRole(ctx, store.RoleInput{OrgID: group.ID, Code: rbac.CodeFromName(r.name), Name: r.name, Description: r.desc,
			Active: r.active, Permissions: perms, ActorID: admin.ID})
		if err != nil {
			return "", err
		}
		roleIDs[r.name] = id
	}
	rows, _, err := st.ListRoles(ctx, store.RoleQuery{OrgID: group.ID, Kind: "system", Limit: 100})
	if err != nil {
		return "", err
	}
	for _, r := range rows {
		roleIDs[r.Code] = r.ID
	}

	// Staff cannot sign in until they set a password (through an invitation, later).
	locked, err := auth.HashPassword(ctx, randomPassword())
	if err != nil {
		return "", err
	}
	rng := rand.New(rand.NewPCG(7, 11)) // the same people every time
	people := make([]store.NewStaff, 0, staff)
	for i := range staff {
		first, last := firstNames[i%len(firstNames)], lastNames[rng.IntN(len(lastNames))]
		// A fifth work for the group; the others at a clinic, two by two as the demo of
		// forty always was (group, north, north, south, south).
		org := group.ID
		if i%5 != 0 {
			org = clinics[(i/5*2+(i%5-1)/2)%len(clinics)]
		}
		email := strings.ToLower(asciiFold(first) + "." + asciiFold(last) + fmt.Sprintf("%d", i) + "@harbour-health.example")
		people = append(people, store.NewStaff{Email: email, Name: first + " " + last, PasswordHash: locked, OrgID: org})
	}
	ids, err := st.AddStaff(ctx, people)
	if err != nil {
		return "", err
	}
	plan := []string{"PROVIDER", "NURSE", "STAFF", "STAFF", "BILLING_STAFF", "Front Desk Lead", "Travel Nurse", "Billing Supervisor",
		"Telehealth Provider", "NURSE", "STAFF", "OFFICE_MANAGER", "Data Export Clerk", "ACCESS_CONTROLLER", "PROVIDER", "Summer Intern"}
	byRole := map[string][]int64{}
	for i, id := range ids {
		r := plan[i%len(plan)]
		byRole[r] = append(byRole[r], id)
		if i%4 == 0 { // some people hold two roles
			byRole["MEMBER"] = append(byRole["MEMBER"], id)
		}
	}
	for _, name := range slices.Sorted(maps.Keys(byRole)) {
		if err := st.SetRoleHolders(ctx, roleIDs[name], group.ID, byRole[name], nil, admin.ID); err != nil {
			return "", err
		}
	}
	// A few exceptions, whatever the size: someone who may not export, someone lent billing.
	for i, o := range []struct {
		perm, effect string
	}{{"patients.export", "deny"}, {"billing.view", "allow"}, {"scheduling.all_providers", "allow"}, {"patients.contact", "deny"}} {
		if !cat.Has(o.perm) {
			continue
		}
		who := ids[(i*7+3)%len(ids)]
		if err := st.SetOverride(ctx, who, group.ID, o.perm, o.effect, admin.ID); err != nil {
			return "", err
		}
	}
	return password, nil
}

// randomPassword is 26 characters from crypto/rand (130 bits).
func randomPassword() string { return crand.Text() }

// asciiFold keeps email addresses plain ASCII: "Zoë" → "zoe".
func asciiFold(s string) string {
	return strings.ToLower(rbac.CodeFromName(s))
}
