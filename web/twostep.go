package web

import (
	"errors"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/rolegate/rolegate/internal/auth"
	"github.com/rolegate/rolegate/internal/store"
	"github.com/rolegate/rolegate/internal/valid"
	"github.com/rolegate/rolegate/views/account"
	authviews "github.com/rolegate/rolegate/views/auth"
)

// afterPassword is the step after a right password: a session at once, or, for someone who
// set up two-step sign-in, no session until the code (the browser only remembers, for a
// few minutes, who typed the right password).
//
// amr says how the first step was made (a password, or the identity provider, which may have
// asked for more itself); rd is already checked (returnURL).
func (a *app) afterPassword(c echo.Context, u store.User, amr, next, rd string) error {
	if a.ssoOnly(u, amr) {
		v := a.loginView(c, authviews.LoginView{Email: u.Email, Next: next, Return: rd, Problem: a.ssoOnlyWords()})
		allowReturn(c, v.Return)
		return a.renderStatus(c, http.StatusForbidden, authviews.Login(v))
	}
	ts, err := a.Store.TwoStepOf(c.Request().Context(), u.ID)
	if err != nil {
		return err
	}
	first := store.Session{AMR: amr}
	if !ts.On() || first.SecondStep() {
		if err := a.signIn(c, u, amr); err != nil {
			return err
		}
		if !first.SecondStep() && a.Access.Now().TwoStepRequired(u.ID) {
			// Nowhere else is open to this session: not even the tool that sent them here.
			return c.Redirect(http.StatusSeeOther, "/account/two-step/required")
		}
		return c.Redirect(http.StatusSeeOther, orElse(rd, next))
	}
	if err := a.Sessions.StartPending(c.Response(), u.ID); err != nil {
		return err
	}
	q := "?next=" + url.QueryEscape(next)
	if rd != "" {
		q += "&rd=" + url.QueryEscape(rd)
	}
	return c.Redirect(http.StatusSeeOther, "/login/two-step"+q)
}

// ssoOnly reports whether u, signing in by amr other than the identity provider, is refused
// all the same: an organisation of theirs signs in through its identity provider (where
// leaving the practice disables the account).
func (a *app) ssoOnly(u store.User, amr string) bool {
	return (amr == store.AMRPassword || amr == store.AMRPasskey) && a.SSO != nil && a.Access.Now().SSORequired(u.ID)
}

func (a *app) ssoOnlyWords() string {
	return "Your organisation signs in with " + a.SSO.Name + ": use the button below."
}

// pendingUser is the person who typed the right password in this browser within the last
// few minutes and is still active.
func (a *app) pendingUser(c echo.Context) (store.User, bool, error) {
	id, ok := a.Sessions.Pending(c.Request())
	if !ok {
		return store.User{}, false, nil
	}
	u, err := a.Store.UserByID(c.Request().Context(), id)
	if errors.Is(err, store.ErrNotFound) || (err == nil && u.Disabled) {
		return store.User{}, false, nil
	}
	return u, err == nil, err
}

// pendingStep is, for a form posted at the second step, the person who typed the right
// password and the page to answer with; done when the request is answered already (it took
// too long: back to the sign-in page) or err is set.
func (a *app) pendingStep(c echo.Context) (store.User, authviews.TwoStepView, bool, error) {
	u, ok, err := a.pendingUser(c)
	if err != nil {
		return u, authviews.TwoStepView{}, true, err
	}
	if !ok {
		a.flash(c, "That took too long: sign in again.")
		return u, authviews.TwoStepView{}, true, redirect(c, "/login")
	}
	v, err := a.twoStepView(c, u, c.FormValue("next"), c.FormValue("rd"))
	if err != nil {
		return u, v, true, err
	}
	allowReturn(c, v.Return)
	return u, v, false, nil
}

// twoStepForm asks for the code after the password.
func (a *app) twoStepForm(c echo.Context) error {
	u, ok, err := a.pendingUser(c)
	if err != nil || !ok {
		if err != nil {
			return err
		}
		return redirect(c, "/login")
	}
	v, err := a.twoStepView(c, u, c.QueryParam("next"), c.QueryParam("rd"))
	if err != nil {
		return err
	}
	allowReturn(c, v.Return)
	return a.renderStatus(c, http.StatusOK, authviews.TwoStep(v))
}

// twoStepSubmit checks the code and starts the session.
func (a *app) twoStepSubmit(c echo.Context) error {
	u, v, done, err := a.pendingStep(c)
	if done {
		return err
	}
	next := v.Next
	got, err := a.TwoStep.Check(c.Request().Context(), u, c.FormValue("code"), c.RealIP())
	if status, refused := codeRefusal(c, &v, err); refused {
		return a.renderStatus(c, status, authviews.TwoStep(v))
	} else if err != nil {
		return err
	}
	a.Sessions.ClearPending(c.Response())
	if err := a.signIn(c, u, store.AMRTwoStep); err != nil {
		return err
	}
	if got.Recovery {
		a.flash(c, "You signed in with a recovery code: "+strconv.Itoa(got.Left)+" left. Make new ones on your Account page if you are running out.")
	}
	return c.Redirect(http.StatusSeeOther, orElse(v.Return, next))
}

// twoStepView is the second step's page for u, with what they can pass it by.
func (a *app) twoStepView(c echo.Context, u store.User, next, rd string) (authviews.TwoStepView, error) {
	v := authviews.TwoStepView{Page: a.page(c, "Two-step sign-in"), Next: valid.LocalPath(next), Return: a.returnURL(c, rd)}
	ts, err := a.Store.TwoStepOf(c.Request().Context(), u.ID)
	v.Passkeys, v.NoApp, v.None = ts.Passkeys > 0 && a.passkeysHere(c), !ts.TOTP, !ts.On()
	return v, err
}

// twoStepStart begins setting up an authenticator app, after the current password.
func (a *app) twoStepStart(c echo.Context) error {
	u, _, _ := enrollingUser(c)
	ctx := c.Request().Context()
	ok, err := a.Auth.CheckCurrent(ctx, u, a.credentials(c, u.Email, c.FormValue("current_password")))
	var te *auth.ThrottledError
	if errors.As(err, &te) {
		c.Response().Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(te.Wait.Seconds()))))
		return a.accountProblem(c, http.StatusTooManyRequests, "start", "Too many wrong passwords. Wait a little before trying again.")
	}
	if err != nil {
		return err
	}
	if !ok {
		return a.accountProblem(c, http.StatusUnprocessableEntity, "start", "This is not your current password.")
	}
	if _, err := a.TwoStep.Begin(ctx, u); errors.Is(err, store.ErrTwoStepOn) {
		// On already (set up in another browser meanwhile): this session still owes it.
		return redirect(c, "/account")
	} else if err != nil {
		return err
	}
	return redirect(c, "/account/two-step")
}

// twoStepEnrolPage shows the QR code and the secret of the enrolment under way.
func (a *app) twoStepEnrolPage(c echo.Context) error {
	return a.enrolPage(c, http.StatusOK, "")
}

func (a *app) enrolPage(c echo.Context, status int, problem string) error {
	u, _, _ := enrollingUser(c)
	e, err := a.TwoStep.Pending(c.Request().Context(), u)
	if errors.Is(err, store.ErrNotFound) {
		return redirect(c, "/account")
	}
	if err != nil {
		return err
	}
	c.Response().Header().Set("Cache-Control", "no-store")
	return a.renderStatus(c, status, account.Enrol(account.EnrolView{Page: a.page(c, "Set up an authenticator app"), Secret: groupsOf4(e.Secret), Problem: problem}))
}

// twoStepQR is the enrolment's QR code, as a PNG from the portal itself (within the CSP).
func (a *app) twoStepQR(c echo.Context) error {
	u, _, _ := enrollingUser(c)
	e, err := a.TwoStep.Pending(c.Request().Context(), u)
	if err != nil {
		return err
	}
	png, err := e.QR(200)
	if err != nil {
		return err
	}
	c.Response().Header().Set("Cache-Control", "no-store")
	return c.Blob(http.StatusOK, "image/png", png)
}

// twoStepConfirm turns two-step sign-in on with a code from the app and shows the recovery
// codes once.
func (a *app) twoStepConfirm(c echo.Context) error {
	u, sess, _ := enrollingUser(c)
	ctx := c.Request().Context()
	codes, err := a.TwoStep.Confirm(ctx, u, c.FormValue("code"), sess.ID, a.Access.Now().MemberOrgs(u.ID))
	if errors.Is(err, auth.ErrBadCode) {
		return a.enrolPage(c, http.StatusUnprocessableEntity, "That code is not right. Check the app's clock, or type the code it shows now.")
	}
	if err != nil {
		return err
	}
	c.Response().Header().Set("Cache-Control", "no-store")
	return a.renderStatus(c, http.StatusOK, account.Codes(account.CodesView{Page: a.page(c, "Recovery codes"), Codes: codes, First: true}))
}

// twoStepRenew makes new recovery codes, with a code to show it is you.
func (a *app) twoStepRenew(c echo.Context) error {
	u, _ := currentUser(c)
	codes, err := a.TwoStep.Renew(c.Request().Context(), u, c.FormValue("code"), c.RealIP())
	if handled, err := a.codeRefused(c, "renew", err); handled {
		return err
	}
	c.Response().Header().Set("Cache-Control", "no-store")
	return a.renderStatus(c, http.StatusOK, account.Codes(account.CodesView{Page: a.page(c, "Recovery codes"), Codes: codes}))
}

// twoStepOff turns two-step sign-in off, with a code to show it is you.
func (a *app) twoStepOff(c echo.Context) error {
	u, _ := currentUser(c)
	err := a.TwoStep.Remove(c.Request().Context(), u, c.FormValue("code"), c.RealIP(), a.Access.Now().MemberOrgs(u.ID))
	if handled, err := a.codeRefused(c, "off", err); handled {
		return err
	}
	if ts, err := a.Store.TwoStepOf(c.Request().Context(), u.ID); err != nil {
		return err
	} else if ts.Passkeys > 0 {
		a.flash(c, "The authenticator app is off. Your passkeys still sign you in.")
	} else {
		a.flash(c, "Two-step sign-in is off: signing in asks for your password only.")
	}
	return redirect(c, "/account")
}

// codeRefused answers a wrong or throttled code on the Account page's form form; handled is
// false when err is nil.
func (a *app) codeRefused(c echo.Context, form string, err error) (bool, error) {
	var te *auth.ThrottledError
	switch {
	case err == nil:
		return false, nil
	case errors.As(err, &te):
		c.Response().Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(te.Wait.Seconds()))))
		return true, a.accountProblem(c, http.StatusTooManyRequests, form, "Too many wrong codes. Wait a little before trying again.")
	case errors.Is(err, auth.ErrBadCode):
		return true, a.accountProblem(c, http.StatusUnprocessableEntity, form, "That code is not right.")
	}
	return true, err
}

// accountProblem shows the Account page (or, for a session that owes the second step, the
// page that requires it) with a problem beside a two-step form's field.
func (a *app) accountProblem(c echo.Context, status int, form, msg string) error {
	if _, owed := currentOwed(c); owed {
		v := a.requiredView(c)
		v.TwoStepForm, v.TwoStepProblem = form, msg
		return a.renderStatus(c, status, account.Required(v))
	}
	v, err := a.accountView(c, nil)
	if err != nil {
		return err
	}
	v.TwoStepForm, v.TwoStepProblem = form, msg
	return a.renderStatus(c, status, account.Page(v))
}

// toSecondStep answers a session that owes the second step (a policy requires it and it was
// signed in with a password alone). Whoever has an authenticator app signs in again, with
// its code; whoever has none is sent to set one up, and can do nothing else until then.
func (a *app) toSecondStep(c echo.Context, live *auth.Live) error {
	ctx := c.Request().Context()
	ts, err := a.Store.TwoStepOf(ctx, live.User.ID)
	if err != nil {
		return err
	}
	if !ts.On() {
		return redirect(c, "/account/two-step/required")
	}
	if err := a.Store.DeleteSession(ctx, live.Session.ID); err != nil {
		return err
	}
	if err := a.Sessions.Clear(c.Response(), c.Request()); err != nil {
		return err
	}
	a.dropAnonymousCSRF(c)
	a.flash(c, "Two-step sign-in is now required: sign in again, with your passkey or a code from your app.")
	return toLogin(c)
}

// twoStepRequired is the page someone a policy requires the second step of lands on until
// they set it up.
func (a *app) twoStepRequired(c echo.Context) error {
	if _, owed := currentOwed(c); !owed {
		return redirect(c, "/account")
	}
	return a.renderStatus(c, http.StatusOK, account.Required(a.requiredView(c)))
}

func (a *app) requiredView(c echo.Context) account.View {
	u, _, _ := enrollingUser(c)
	return account.View{Page: a.page(c, "Two-step sign-in required"), Name: u.Name, Email: u.Email, PasskeysHere: a.passkeysHere(c)}
}

// groupsOf4 spaces a key for typing: ABCD EFGH ….
func groupsOf4(s string) string {
	var b strings.Builder
	for i, r := range s {
		if i > 0 && i%4 == 0 {
			b.WriteByte(' ')
		}
		b.WriteRune(r)
	}
	return b.String()
}

// stepUpForm asks for a code again before a dangerous action (the last second step was more
// than ten minutes ago).
// An application that requires the second step sends people here with rd, its address.
func (a *app) stepUpForm(c echo.Context) error {
	u, _ := currentUser(c)
	v, err := a.stepUpView(c, u, c.QueryParam("next"), c.QueryParam("rd"))
	if err != nil {
		return err
	}
	allowReturn(c, v.Return)
	return a.renderStatus(c, http.StatusOK, authviews.StepUp(v))
}

func (a *app) stepUpView(c echo.Context, u store.User, next, rd string) (authviews.TwoStepView, error) {
	v, err := a.twoStepView(c, u, next, rd)
	v.Page = a.page(c, "Confirm it is you")
	return v, err
}

// stepUpSubmit checks the code and marks the session's second step fresh.
func (a *app) stepUpSubmit(c echo.Context) error {
	u, _ := currentUser(c)
	v, err := a.stepUpView(c, u, c.FormValue("next"), c.FormValue("rd"))
	if err != nil {
		return err
	}
	allowReturn(c, v.Return)
	_, err = a.TwoStep.Check(c.Request().Context(), u, c.FormValue("code"), c.RealIP())
	if status, refused := codeRefusal(c, &v, err); refused {
		return a.renderStatus(c, status, authviews.StepUp(v))
	} else if err != nil {
		return err
	}
	return a.steppedUp(c, v, store.MethodCode)
}

// steppedUp marks the session's second step fresh (passed by method) and goes on.
func (a *app) steppedUp(c echo.Context, v authviews.TwoStepView, method string) error {
	sess, _ := currentSession(c)
	if err := a.Store.MarkSecondStep(c.Request().Context(), sess.ID, method); err != nil {
		return err
	}
	if v.Return != "" {
		return c.Redirect(http.StatusSeeOther, v.Return)
	}
	a.flash(c, "Thank you. For the next ten minutes Rolegate will not ask again.")
	return redirect(c, v.Next)
}

// codeRefusal words a code the second step refused (wrong, used, or too many wrong lately)
// into v and gives the status to answer with; refused is false for any other err.
func codeRefusal(c echo.Context, v *authviews.TwoStepView, err error) (status int, refused bool) {
	var te *auth.ThrottledError
	switch {
	case errors.As(err, &te):
		v.WaitSec = int(math.Ceil(te.Wait.Seconds()))
		v.Problem = "Too many wrong codes. Wait a little before trying again."
		c.Response().Header().Set("Retry-After", strconv.Itoa(v.WaitSec))
		return http.StatusTooManyRequests, true
	case errors.Is(err, auth.ErrBadCode):
		v.Problem = "That code is not right. Codes change every 30 seconds and each works once."
		return http.StatusUnauthorized, true
	case errors.Is(err, auth.ErrBadPasskey):
		v.Problem = "That passkey did not work. Use one you added on your Account page, or type a code."
		return http.StatusUnauthorized, true
	}
	return 0, false
}
