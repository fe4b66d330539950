// Package demo fills a fresh database with a sample group practice, so a newcomer can try
// every page at once: a parent practice with two locations, about forty staff with realistic
// names, and several custom roles held by them.
package demo

import (
	"context"
	crand "crypto/rand"
	"fmt"
	"math/rand/v2"
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

// Seed fills st (which must be fresh) and returns the admin's password: password if given,
// else a random one.
func Seed(ctx context.Context, st *store.Store, cat *rbac.Catalog, password string) (string, error) {
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
	north, err := st.CreateOrganisation(ctx, "Northside Clinic", group.ID)
	if err != nil {
		return "", err
	}
	south, err := st.CreateOrganisation(ctx, "Southside Clinic", group.ID)
	if err != nil {
		return "", err
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
	var people []store.NewStaff
	for i := range 40 {
		first, last := firstNames[i], lastNames[rng.IntN(len(lastNames))]
		org := []int64{group.ID, north, north, south, south}[i%5]
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
	for name, holders := range byRole {
		if err := st.SetRoleHolders(ctx, roleIDs[name], group.ID, holders, nil, admin.ID); err != nil {
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
