package web

import (
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/rolegate/rolegate/internal/rbac"
	"github.com/rolegate/rolegate/internal/staff"
	"github.com/rolegate/rolegate/internal/tokens"
)

// Access says who may use a route. The zero value is not valid: every route must say.
type Access struct {
	kind  accessKind
	perms []string // catalog keys, any of which will do, for kind permission
}

type accessKind int

const (
	accessNone accessKind = iota
	accessPublic
	accessSignedIn
	accessPermission
	accessGlobalAdmin
	accessToken // the JSON API: a bearer token with a scope (perms[0])
	accessEnrolling
)

var (
	// Public routes need no session (setup, sign-in, health, static files).
	Public = Access{kind: accessPublic}
	// SignedIn routes need a live session and nothing more.
	SignedIn = Access{kind: accessSignedIn}
	// Enrolling routes set up the second step of signing in: a live session, or one a
	// policy stops until the second step is set up.
	Enrolling = Access{kind: accessEnrolling}
	// GlobalAdmin routes are for global admins only (portal-wide settings).
	GlobalAdmin = Access{kind: accessGlobalAdmin}
)

// Perm routes need a live session and one of the catalog permission keys.
func Perm(keys ...string) Access { return Access{kind: accessPermission, perms: keys} }

// String is how the route table test and error pages name the access.
func (a Access) String() string {
	switch a.kind {
	case accessPublic:
		return "public"
	case accessSignedIn:
		return "signed-in"
	case accessEnrolling:
		return "signed-in, or owing the second step"
	case accessPermission:
		return "permission " + strings.Join(a.perms, " or ")
	case accessGlobalAdmin:
		return "global admin"
	case accessToken:
		return "token scope " + a.perms[0]
	}
	return "unset"
}

// Route is one line of the route table.
type Route struct {
	Method  string
	Path    string
	Access  Access
	handler echo.HandlerFunc
}

// Routes is the route table: every route Rolegate answers, and who may use it. Routes are
// registered only from here, and a test fails for any registered route missing from it.
func (a *app) Routes() []Route {
	return []Route{
		{http.MethodGet, "/healthz", Public, a.healthz},
		{http.MethodGet, "/static/*", Public, staticFiles},
		{http.MethodGet, "/favicon.ico", Public, favicon},

		{http.MethodGet, "/setup", Public, a.setupForm},
		{http.MethodPost, "/setup", Public, a.setupSubmit},
		{http.MethodGet, "/login", Public, a.loginForm},
		{http.MethodPost, "/login", Public, a.loginSubmit},
		{http.MethodGet, "/login/sso", Public, a.ssoStart},
		{http.MethodGet, "/login/sso/callback", Public, a.ssoCallback},
		{http.MethodGet, "/login/two-step", Public, a.twoStepForm},
		{http.MethodPost, "/login/two-step", Public, a.twoStepSubmit},
		{http.MethodPost, "/login/two-step/passkey/options", Public, a.twoStepPasskeyOptions},
		{http.MethodPost, "/login/two-step/passkey", Public, a.twoStepPasskey},
		{http.MethodPost, "/login/passkey/options", Public, a.passkeySignInOptions},
		{http.MethodPost, "/login/passkey", Public, a.passkeySignIn},
		{http.MethodPost, "/logout", Public, a.logout},

		// Forward-auth (web/forward.go): asked by reverse proxies; each answers for itself
		// (trusted peers only; 401 / 302 / 403 by the protected application's rule).
		{http.MethodGet, "/auth/nginx", Public, a.authNginx},
		{http.MethodGet, "/auth/forward", Public, a.authForward},

		{http.MethodGet, "/", SignedIn, a.home},
		{http.MethodGet, "/account", SignedIn, a.accountPage},
		{http.MethodPost, "/account/password", SignedIn, a.changePassword},
		{http.MethodPost, "/account/name", SignedIn, a.changeName},
		{http.MethodPost, "/account/sessions/:id/end", SignedIn, a.endSession},
		{http.MethodPost, "/account/sessions/end-all", SignedIn, a.endAllSessions},
		{http.MethodGet, "/step-up", SignedIn, a.stepUpForm},
		{http.MethodPost, "/step-up", SignedIn, a.stepUpSubmit},
		{http.MethodPost, "/step-up/passkey/options", SignedIn, a.stepUpPasskeyOptions},
		{http.MethodPost, "/step-up/passkey", SignedIn, a.stepUpPasskey},
		{http.MethodGet, "/account/two-step/required", Enrolling, a.twoStepRequired},
		{http.MethodPost, "/account/two-step", Enrolling, a.twoStepStart},
		{http.MethodGet, "/account/two-step", Enrolling, a.twoStepEnrolPage},
		{http.MethodGet, "/account/two-step/qr.png", Enrolling, a.twoStepQR},
		{http.MethodPost, "/account/two-step/confirm", Enrolling, a.twoStepConfirm},
		{http.MethodPost, "/account/two-step/recovery", SignedIn, a.twoStepRenew},
		{http.MethodPost, "/account/two-step/off", SignedIn, a.twoStepOff},
		{http.MethodPost, "/account/passkeys/options", Enrolling, a.passkeyAddOptions},
		{http.MethodPost, "/account/passkeys", Enrolling, a.passkeyAdd},
		{http.MethodPost, "/account/passkeys/:id/remove", SignedIn, a.passkeyRemove},

		{http.MethodGet, "/roles", Perm(viewRoles...), a.rolesList},
		{http.MethodGet, "/roles/new", Perm(rbac.PermRolesManage), a.roleNew},
		{http.MethodGet, "/roles/code", Perm(rbac.PermRolesManage), a.codePreview},
		{http.MethodPost, "/roles", Perm(rbac.PermRolesManage), a.roleCreate},
		{http.MethodGet, "/roles/grid", Perm(viewRoles...), a.grid},
		{http.MethodGet, "/roles/grid.csv", Perm(viewRoles...), a.gridCSV},
		{http.MethodGet, "/roles/:id", Perm(viewRoles...), a.roleView},
		{http.MethodGet, "/roles/:id/edit", Perm(rbac.PermRolesManage), a.roleEdit},
		{http.MethodPost, "/roles/:id", Perm(rbac.PermRolesManage), a.roleUpdate},
		{http.MethodPost, "/roles/:id/delete", Perm(rbac.PermRolesManage), a.roleDelete},
		{http.MethodGet, "/roles/:id/members", Perm(rbac.PermStaffManage), a.membersForm},
		{http.MethodPost, "/roles/:id/members", Perm(rbac.PermStaffManage), a.membersSave},
		// Impact previews: POST for the form they preview, and they write nothing.
		{http.MethodPost, "/roles/:id/impact", Perm(rbac.PermRolesManage), a.roleImpact},
		{http.MethodPost, "/roles/:id/delete/impact", Perm(rbac.PermRolesManage), a.roleDeleteImpact},
		{http.MethodPost, "/roles/:id/members/impact", Perm(rbac.PermStaffManage), a.membersImpact},
		{http.MethodGet, "/permissions", Perm(viewRoles...), a.permissionDetails},

		// Who can… and the access report (web/access.go, PRODUCT.md §2.12); internal/staff
		// decides again in the organisation asked about and whom the viewer may see.
		{http.MethodGet, "/access/who", Perm(rbac.PermStaffView), a.whoPage},
		{http.MethodGet, "/access/who.csv", Perm(rbac.PermStaffView), a.whoCSV},
		{http.MethodGet, "/access/report", Perm(staff.ReportPermissions...), a.accessReport},

		{http.MethodGet, "/audit", Perm(rbac.PermAuditView), a.auditPage},
		{http.MethodGet, "/audit.csv", Perm(rbac.PermAuditView), a.auditExport("csv")},
		{http.MethodGet, "/audit.json", Perm(rbac.PermAuditView), a.auditExport("json")},
		{http.MethodGet, "/settings", GlobalAdmin, a.settingsPage},
		{http.MethodPost, "/settings", GlobalAdmin, a.settingsSave},

		{http.MethodGet, "/staff", Perm(rbac.PermStaffView), a.staffList},
		{http.MethodGet, "/staff/invitations/new", Perm(rbac.PermStaffManage), a.inviteNew},
		{http.MethodPost, "/staff/invitations", Perm(rbac.PermStaffManage), a.inviteCreate},
		{http.MethodPost, "/staff/invitations/:id/resend", Perm(rbac.PermStaffManage), a.inviteResend},
		{http.MethodPost, "/staff/invitations/:id/revoke", Perm(rbac.PermStaffManage), a.inviteRevoke},
		{http.MethodGet, "/invite/:token", Public, a.acceptForm},
		{http.MethodPost, "/invite/:token", Public, a.acceptSubmit},
		{http.MethodGet, "/staff/:id", Perm(rbac.PermStaffView), a.personPage},
		{http.MethodPost, "/staff/:id/roles", Perm(rbac.PermStaffManage), a.personAddRole},
		{http.MethodPost, "/staff/:id/roles/remove", Perm(rbac.PermStaffManage), a.personRemoveRole},
		{http.MethodPost, "/staff/:id/overrides", Perm(rbac.PermStaffManage), a.personOverride},
		{http.MethodPost, "/staff/:id/disable", Perm(rbac.PermStaffManage), a.personDisable},
		{http.MethodPost, "/staff/:id/enable", Perm(rbac.PermStaffManage), a.personEnable},
		{http.MethodPost, "/staff/:id/remove", Perm(rbac.PermStaffManage), a.personRemove},
		{http.MethodPost, "/staff/:id/sessions/end", Perm(rbac.PermStaffManage), a.personEndSessions},
		{http.MethodPost, "/staff/:id/two-step/reset", Perm(rbac.PermStaffManage), a.personResetTwoStep},

		// Access reviews (web/reviews.go, PRODUCT.md §2.12): who may see and decide a review is
		// the domain's (internal/reviews); a review of an organisation one does not manage is
		// not found.
		{http.MethodGet, "/reviews", Perm(rbac.PermStaffManage), a.reviewsList},
		{http.MethodGet, "/reviews/new", Perm(rbac.PermStaffManage), a.reviewNew},
		{http.MethodPost, "/reviews", Perm(rbac.PermStaffManage), a.reviewStart},
		{http.MethodGet, "/reviews/:id", Perm(rbac.PermStaffManage), a.reviewPage},
		{http.MethodPost, "/reviews/:id/items/:item", Perm(rbac.PermStaffManage), a.reviewDecide},
		{http.MethodPost, "/reviews/:id/decide", Perm(rbac.PermStaffManage), a.reviewDecideMany},
		{http.MethodGet, "/reviews/:id/report", Perm(rbac.PermStaffManage), a.reviewReport},
		{http.MethodGet, "/reviews/:id/report.csv", Perm(rbac.PermStaffManage), a.reviewReportCSV},

		// Emergency access (web/emergency.go, PRODUCT.md §2.11). Ending one is the person's own
		// or a staff manager's: the domain decides.
		{http.MethodGet, "/emergency", Perm(rbac.PermAuditView), a.emergencyQueue},
		{http.MethodGet, "/emergency/new", Perm(rbac.PermEmergency), a.emergencyNew},
		{http.MethodPost, "/emergency", Perm(rbac.PermEmergency), a.emergencyStart},
		{http.MethodPost, "/emergency/:id/end", SignedIn, a.emergencyEnd},
		{http.MethodPost, "/emergency/:id/review", Perm(rbac.PermAuditView), a.emergencyReview},
		{http.MethodPost, "/orgs/:id/emergency", Perm(rbac.PermOrgsManage), a.orgEmergency},

		{http.MethodGet, "/orgs", Perm(rbac.PermOrgsManage), a.orgsTree},
		{http.MethodPost, "/orgs", Perm(rbac.PermOrgsManage), a.orgCreate},
		{http.MethodGet, "/orgs/:id", Perm(rbac.PermOrgsManage), a.orgPage},
		{http.MethodPost, "/orgs/:id/rename", Perm(rbac.PermOrgsManage), a.orgRename},
		{http.MethodPost, "/orgs/:id/move", Perm(rbac.PermOrgsManage), a.orgMove},
		{http.MethodPost, "/orgs/:id/settings", Perm(rbac.PermOrgsManage), a.orgSettings},
		{http.MethodPost, "/orgs/:id/defaults", Perm(rbac.PermOrgsManage), a.orgDefaults},
		{http.MethodPost, "/orgs/:id/defaults/impact", Perm(rbac.PermOrgsManage), a.orgDefaultsImpact},

		{http.MethodGet, "/integrations", Perm(rbac.PermIntegrations), a.integrationsPage},
		{http.MethodPost, "/integrations/tokens", Perm(rbac.PermIntegrations), a.tokenCreate},
		{http.MethodPost, "/integrations/tokens/:id/revoke", Perm(rbac.PermIntegrations), a.tokenRevoke},
		{http.MethodPost, "/integrations/apps", Perm(rbac.PermIntegrations), a.appCreate},
		{http.MethodGet, "/integrations/apps/:id/edit", Perm(rbac.PermIntegrations), a.appEditPage},
		{http.MethodPost, "/integrations/apps/:id", Perm(rbac.PermIntegrations), a.appUpdate},
		{http.MethodPost, "/integrations/apps/:id/enable", Perm(rbac.PermIntegrations), a.appEnable(true)},
		{http.MethodPost, "/integrations/apps/:id/disable", Perm(rbac.PermIntegrations), a.appEnable(false)},
		{http.MethodPost, "/integrations/apps/:id/remove", Perm(rbac.PermIntegrations), a.appRemove},

		// The JSON API (web/api*.go): bearer tokens, problem+json.
		{http.MethodGet, "/api/v1/openapi.json", Public, a.apiOpenAPI},
		{http.MethodGet, "/api/v1/check", Token(tokens.ScopeCheck), a.apiCheck},
		{http.MethodPost, "/api/v1/check", Token(tokens.ScopeCheck), a.apiCheckBatch},
		{http.MethodGet, "/api/v1/users/:user/permissions", Token(tokens.ScopeCheck), a.apiUserPermissions},
		{http.MethodGet, "/api/v1/permissions/:key/holders", Token(tokens.ScopeRead), a.apiHolders},
		{http.MethodGet, "/api/v1/roles", Token(tokens.ScopeRead), a.apiRoles},
		{http.MethodGet, "/api/v1/roles/:id", Token(tokens.ScopeRead), a.apiRole},
		{http.MethodGet, "/api/v1/roles/:id/holders", Token(tokens.ScopeRead), a.apiRoleHolders},
		{http.MethodPost, "/api/v1/roles/:id/preview", Token(tokens.ScopeRead), a.apiRolePreview},
		{http.MethodGet, "/api/v1/users", Token(tokens.ScopeRead), a.apiUsers},
		{http.MethodGet, "/api/v1/audit", Token(tokens.ScopeRead), a.apiAudit},
		{http.MethodPost, "/api/v1/users/:user/roles", Token(tokens.ScopeWrite), a.apiAssign},
		{http.MethodDelete, "/api/v1/users/:user/roles/:role", Token(tokens.ScopeWrite), a.apiUnassign},
		{http.MethodPost, "/api/v1/invitations", Token(tokens.ScopeWrite), a.apiInvite},
	}
}

// RouteTable returns the route table of an app built from d, for tests and documentation.
func RouteTable(d Deps) []Route { return (&app{Deps: d}).Routes() }

func (a *app) register(e *echo.Echo) {
	a.routed = map[routeKey]bool{}
	a.pageAccess = map[string]Access{}
	for _, r := range a.Routes() {
		if r.Access.kind == accessNone {
			panic("web: route " + r.Method + " " + r.Path + " has no access rule")
		}
		e.Add(r.Method, r.Path, a.withChain(a.require(r.Access)(r.handler)))
		a.routed[routeKey{r.Method, r.Path}] = true
		if r.Method == http.MethodGet {
			a.pageAccess[r.Path] = r.Access
		}
	}
}
