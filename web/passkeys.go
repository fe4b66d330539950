package web

import (
	"errors"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/rolegate/rolegate/internal/audit"
	"github.com/rolegate/rolegate/internal/auth"
	"github.com/rolegate/rolegate/internal/store"
	"github.com/rolegate/rolegate/internal/valid"
	"github.com/rolegate/rolegate/views/account"
	authviews "github.com/rolegate/rolegate/views/auth"
)

// Passkeys over HTTP. Each ceremony is two requests: the script posts the form to an
// …/options route and gets the browser's options as JSON (or {"problem", "location"}); the
// authenticator's answer then comes back as a normal form post, answered with a page.

// passkeyOrigin is the portal's origin, which passkeys are made for and answer to.
func (a *app) passkeyOrigin(c echo.Context) string {
	if a.Config.BaseURL != "" {
		if u, err := url.Parse(a.Config.BaseURL); err == nil {
			return u.Scheme + "://" + u.Host
		}
	}
	return c.Scheme() + "://" + c.Request().Host
}

// passkeysHere reports whether browsers make passkeys for the portal as this request
// reached it (https, or localhost; never an IP address).
func (a *app) passkeysHere(c echo.Context) bool { return auth.PasskeysWork(a.passkeyOrigin(c)) }

// noPasskeysHere answers an options route where browsers would refuse the ceremony.
func noPasskeysHere(c echo.Context) error {
	return passkeyRefusal(c, http.StatusConflict, "Passkeys work only when the portal is reached over https by its name (or on localhost).", "")
}

// passkeyProblem is the options routes' refusal: words for the form, and where to go
// instead when there is somewhere.
type passkeyProblem struct {
	Problem  string `json:"problem"`
	Location string `json:"location,omitempty"`
}

func passkeyRefusal(c echo.Context, status int, problem, location string) error {
	return c.JSON(status, passkeyProblem{Problem: problem, Location: location})
}

// passkeyOptions hands the browser its options, keeping the ceremony in a cookie meanwhile.
func (a *app) passkeyOptions(c echo.Context, opts []byte, cer auth.Ceremony) error {
	if err := a.Sessions.StartCeremony(c.Response(), cer); err != nil {
		return err
	}
	c.Response().Header().Set("Cache-Control", "no-store")
	return c.JSONBlob(http.StatusOK, opts)
}

// secondStepFresh reports whether sess passed the second step within the step-up age.
func secondStepFresh(sess store.Session) bool {
	return sess.SecondStep() && time.Since(time.Unix(sess.SecondStepAt, 0)) <= audit.StepUpAge
}

// passkeyAddOptions starts adding a passkey. Someone with a second step already shows it
// again first (a stolen session alone cannot add its own way in); someone without one types
// their current password, as for an authenticator app.
func (a *app) passkeyAddOptions(c echo.Context) error {
	if !a.passkeysHere(c) {
		return noPasskeysHere(c)
	}
	u, sess, _ := enrollingUser(c)
	ctx := c.Request().Context()
	ts, err := a.Store.TwoStepOf(ctx, u.ID)
	if err != nil {
		return err
	}
	if ts.On() {
		if !secondStepFresh(sess) {
			return passkeyRefusal(c, http.StatusForbidden, "Confirm it is you first.", "/step-up?next=%2Faccount")
		}
	} else {
		ok, err := a.Auth.CheckCurrent(ctx, u, a.credentials(c, u.Email, c.FormValue("current_password")))
		var te *auth.ThrottledError
		if errors.As(err, &te) {
			c.Response().Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(te.Wait.Seconds()))))
			return passkeyRefusal(c, http.StatusTooManyRequests, "Too many wrong passwords. Wait a little before trying again.", "")
		}
		if err != nil {
			return err
		}
		if !ok {
			return passkeyRefusal(c, http.StatusUnprocessableEntity, "This is not your current password.", "")
		}
	}
	opts, cer, problems, err := a.Passkeys.BeginRegistration(ctx, u, a.passkeyOrigin(c), c.FormValue("passkey_name"))
	if err != nil {
		return err
	}
	if p := problems["passkey_name"]; p != "" {
		return passkeyRefusal(c, http.StatusUnprocessableEntity, p, "")
	}
	return a.passkeyOptions(c, opts, cer)
}

// passkeyAdd keeps the passkey the browser made. It was just used in this session, so the
// session passed the second step (and the person's sessions that never did end); a first
// second step comes with recovery codes, shown once.
func (a *app) passkeyAdd(c echo.Context) error {
	u, sess, _ := enrollingUser(c)
	ctx := c.Request().Context()
	cer, ok := a.Sessions.TakeCeremony(c.Response(), c.Request())
	if !ok {
		return a.accountProblem(c, http.StatusUnprocessableEntity, "passkey", "That took too long: add the passkey again.")
	}
	key, codes, err := a.Passkeys.FinishRegistration(ctx, u, sess.ID, a.Access.Now().MemberOrgs(u.ID), a.passkeyOrigin(c), cer, []byte(c.FormValue("credential")))
	if errors.Is(err, auth.ErrBadPasskey) {
		a.Logger.Info("passkey not added", "user", u.ID, "err", err)
		return a.accountProblem(c, http.StatusUnprocessableEntity, "passkey", "The passkey was not added: the browser's answer did not check out, or it is registered already. Try again.")
	}
	if err != nil {
		return err
	}
	if codes != nil {
		c.Response().Header().Set("Cache-Control", "no-store")
		return a.renderStatus(c, http.StatusOK, account.Codes(account.CodesView{Page: a.page(c, "Recovery codes"), Codes: codes, First: true, Passkey: key.Name}))
	}
	a.flash(c, "Passkey “"+key.Name+"” added: use it to sign in, with or without your password.")
	return redirect(c, "/account")
}

// passkeyRemove removes one of your passkeys, after a fresh second step.
func (a *app) passkeyRemove(c echo.Context) error {
	u, _ := currentUser(c)
	ctx := c.Request().Context()
	id, err := strconv.ParseInt(c.Param("id"), 10, 64)
	if err != nil {
		return store.ErrNotFound
	}
	if err := audit.RequireFresh(ctx); err != nil {
		return err
	}
	if err := a.Passkeys.Remove(ctx, u, id, a.Access.Now().MemberOrgs(u.ID)); err != nil {
		return err
	}
	a.flash(c, "The passkey was removed: it no longer signs you in.")
	return redirect(c, "/account")
}

// secondStepOptions asks u's passkeys for the second step.
func (a *app) secondStepOptions(c echo.Context, u store.User) error {
	opts, cer, err := a.Passkeys.BeginSecondStep(c.Request().Context(), u, a.passkeyOrigin(c))
	if errors.Is(err, auth.ErrBadPasskey) {
		return passkeyRefusal(c, http.StatusUnprocessableEntity, "You have no passkey here: type a code instead.", "")
	}
	if err != nil {
		return err
	}
	return a.passkeyOptions(c, opts, cer)
}

// twoStepPasskeyOptions asks the passkeys of the person who just typed the right password.
func (a *app) twoStepPasskeyOptions(c echo.Context) error {
	if !a.passkeysHere(c) {
		return noPasskeysHere(c)
	}
	u, ok, err := a.pendingUser(c)
	if err != nil {
		return err
	}
	if !ok {
		return passkeyRefusal(c, http.StatusUnauthorized, "That took too long: sign in again.", "/login")
	}
	return a.secondStepOptions(c, u)
}

// twoStepPasskey checks the passkey after the password and starts the session.
func (a *app) twoStepPasskey(c echo.Context) error {
	u, v, done, err := a.pendingStep(c)
	if done {
		return err
	}
	if status, refused, err := a.passkeyCheck(c, u.ID, &v); refused || err != nil {
		if err != nil {
			return err
		}
		return a.renderStatus(c, status, authviews.TwoStep(v))
	}
	a.Sessions.ClearPending(c.Response())
	if err := a.signIn(c, u, store.AMRPasswordPasskey); err != nil {
		return err
	}
	return c.Redirect(http.StatusSeeOther, orElse(v.Return, v.Next))
}

// passkeyCheck takes the answer to this browser's passkey ceremony, which must be userID's,
// and words a refusal into v.
func (a *app) passkeyCheck(c echo.Context, userID int64, v *authviews.TwoStepView) (status int, refused bool, err error) {
	cer, ok := a.Sessions.TakeCeremony(c.Response(), c.Request())
	if !ok || cer.Kind != auth.CeremonySecondStep || cer.UserID != userID {
		v.Problem = "That took too long: use the passkey again."
		return http.StatusUnauthorized, true, nil
	}
	_, err = a.Passkeys.Finish(c.Request().Context(), a.passkeyOrigin(c), cer, []byte(c.FormValue("credential")), c.RealIP())
	if status, refused := codeRefusal(c, v, err); refused {
		return status, true, nil
	}
	return 0, false, err
}

// passkeySignInOptions asks for any passkey of this portal: a sign-in without a password.
func (a *app) passkeySignInOptions(c echo.Context) error {
	if !a.passkeysHere(c) {
		return noPasskeysHere(c)
	}
	opts, cer, err := a.Passkeys.BeginSignIn(a.passkeyOrigin(c))
	if err != nil {
		return err
	}
	return a.passkeyOptions(c, opts, cer)
}

// passkeySignIn signs in whoever the passkey says, when it verified them itself.
func (a *app) passkeySignIn(c echo.Context) error {
	next := valid.LocalPath(c.FormValue("next"))
	rd := a.returnURL(c, c.FormValue("rd"))
	refuse := func(status int, problem string) error {
		v := a.loginView(c, authviews.LoginView{Next: next, Return: rd, Problem: problem})
		allowReturn(c, v.Return)
		return a.renderStatus(c, status, authviews.Login(v))
	}
	cer, ok := a.Sessions.TakeCeremony(c.Response(), c.Request())
	if !ok || cer.Kind != auth.CeremonySignIn {
		return refuse(http.StatusUnauthorized, "That took too long: use the passkey again.")
	}
	u, err := a.Passkeys.Finish(c.Request().Context(), a.passkeyOrigin(c), cer, []byte(c.FormValue("credential")), c.RealIP())
	var te *auth.ThrottledError
	switch {
	case errors.As(err, &te):
		c.Response().Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(te.Wait.Seconds()))))
		return refuse(http.StatusTooManyRequests, "Too many passkeys that did not work. Wait a little before trying again.")
	case errors.Is(err, auth.ErrBadPasskey):
		return refuse(http.StatusUnauthorized, "That passkey did not sign you in. It may be for another account, or have been removed: sign in with your password.")
	case err != nil:
		return err
	}
	if a.ssoOnly(u, store.AMRPasskey) {
		return refuse(http.StatusForbidden, a.ssoOnlyWords())
	}
	if err := a.signIn(c, u, store.AMRPasskey); err != nil {
		return err
	}
	return c.Redirect(http.StatusSeeOther, orElse(rd, next))
}

// stepUpPasskeyOptions asks your passkeys before a dangerous action.
func (a *app) stepUpPasskeyOptions(c echo.Context) error {
	if !a.passkeysHere(c) {
		return noPasskeysHere(c)
	}
	u, _ := currentUser(c)
	return a.secondStepOptions(c, u)
}

// stepUpPasskey checks the passkey and marks the session's second step fresh.
func (a *app) stepUpPasskey(c echo.Context) error {
	u, _ := currentUser(c)
	v, err := a.stepUpView(c, u, c.FormValue("next"), c.FormValue("rd"))
	if err != nil {
		return err
	}
	allowReturn(c, v.Return)
	if status, refused, err := a.passkeyCheck(c, u.ID, &v); refused || err != nil {
		if err != nil {
			return err
		}
		return a.renderStatus(c, status, authviews.StepUp(v))
	}
	return a.steppedUp(c, v, store.MethodPasskey)
}
