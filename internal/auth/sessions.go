package auth

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/securecookie"
	"github.com/gorilla/sessions"

	"github.com/rolegate/rolegate/internal/store"
)

// ErrNoSession means the request carries no live session: never signed in, signed out,
// timed out, ended elsewhere, or the user was disabled.
var ErrNoSession = errors.New("auth: no session")

// Session timeout settings and their defaults (PRODUCT.md §2.1).
const (
	SettingIdleMinutes   = "session_idle_minutes"
	SettingAbsoluteHours = "session_absolute_hours"
	DefaultIdle          = 30 * time.Minute
	DefaultAbsolute      = 12 * time.Hour
	// touchEvery bounds how often activity is written back, so reading pages is not a
	// write per request; the idle timeout is therefore exact to within this much.
	touchEvery = time.Minute
)

// Sessions issues and checks sessions. The cookie, through gorilla/sessions, holds only a
// random token, signed (HMAC-SHA256) and encrypted (AES-256) with keys kept in the database;
// everything else lives in the sessions table, so ending a session is one DELETE.
type Sessions struct {
	st      *store.Store
	cookies *sessions.CookieStore
	device  *securecookie.SecureCookie
	pending *securecookie.SecureCookie // the right password of someone who owes the second step
	csrfKey []byte
	name    string
	domain  string // the session cookie's Domain=, "" for the portal's host only
	now     func() time.Time

	// known holds sessions already read, by the cookie that carries them, with their users,
	// as of one pair of counters: a request of a known session costs no database read and
	// no opening of the cookie. Anything that ends a session or changes its person moves
	// one of the counters, and the next request starts afresh. Only cookies this portal
	// signed get in, so nobody can fill it by sending made-up ones.
	known atomic.Pointer[knownSessions]
}

type knownSessions struct {
	sessions, access int64
	mu               sync.Mutex
	byCookie         map[string]known
}

type known struct {
	tok    string    // the session token the cookie holds
	hash   []byte    // its SHA-256, the sessions table's key
	opened time.Time // when the cookie was last opened and checked
	// live is the session and its person as last read, shared by the requests that use it:
	// never changed, replaced.
	live *Live
}

// cached returns the set of known sessions valid at the request's counters, a new empty one
// when it is behind.
func (m *Sessions) cached(v store.Versions) *knownSessions {
	k := m.known.Load()
	if k != nil && k.sessions >= v.Sessions && k.access >= v.Access {
		return k
	}
	fresh := &knownSessions{sessions: v.Sessions, access: v.Access, byCookie: map[string]known{}}
	if m.known.CompareAndSwap(k, fresh) {
		return fresh
	}
	return m.known.Load()
}

// forgetKnown drops every known session: this process just ended some.
func (m *Sessions) forgetKnown() { m.known.Store(nil) }

// deviceAge is how long a device cookie lasts: long enough that the browser a person uses
// every working day keeps its own sign-in allowance.
const deviceAge = 365 * 24 * time.Hour

// NewSessions loads (or on first start creates) the cookie keys. secure is true when the
// portal is served over HTTPS: the cookie is then Secure and carries the __Host- prefix,
// which pins it to this host and path "/".
//
// cookieDomain, when set, shares the session cookie with the hosts below it (the practice's
// tools behind forward-auth): the cookie then carries Domain= and the __Secure- prefix, since
// __Host- forbids a domain.
func NewSessions(ctx context.Context, st *store.Store, secure bool, cookieDomain string) (*Sessions, error) {
	hashKey, err := st.Secret(ctx, "session_hash_key", 64)
	if err != nil {
		return nil, err
	}
	blockKey, err := st.Secret(ctx, "session_block_key", 32)
	if err != nil {
		return nil, err
	}
	csrfKey, err := st.Secret(ctx, "csrf_key", 32)
	if err != nil {
		return nil, err
	}
	cs := sessions.NewCookieStore(hashKey, blockKey)
	cs.Options = &sessions.Options{Path: "/", HttpOnly: true, Secure: secure, SameSite: http.SameSiteLaxMode}
	domain := cookieDomain
	// A browser-session cookie (no Max-Age); the server-side absolute timeout bounds it, and
	// securecookie refuses values older than that too.
	for _, c := range cs.Codecs {
		if sc, ok := c.(*securecookie.SecureCookie); ok {
			sc.MaxAge(int(DefaultAbsolute / time.Second))
		}
	}
	name := "rolegate_session"
	switch {
	case secure && domain != "":
		name = "__Secure-rolegate_session"
	case secure:
		name = "__Host-rolegate_session"
	}
	device := securecookie.New(hashKey, blockKey).MaxAge(int(deviceAge / time.Second))
	pending := securecookie.New(hashKey, blockKey).MaxAge(int(PendingAge / time.Second))
	return &Sessions{st: st, cookies: cs, device: device, pending: pending, csrfKey: csrfKey, name: name, domain: domain, now: time.Now}, nil
}

// SetClock replaces the time source (tests).
func (m *Sessions) SetClock(now func() time.Time) { m.now = now }

// CookieName is the name of the session cookie.
func (m *Sessions) CookieName() string { return m.name }

// Timeouts returns the idle and absolute session timeouts now in force.
func (m *Sessions) Timeouts(ctx context.Context) (idle, absolute time.Duration, err error) {
	idle, err = m.durationSetting(ctx, SettingIdleMinutes, time.Minute, DefaultIdle)
	if err != nil {
		return 0, 0, err
	}
	absolute, err = m.durationSetting(ctx, SettingAbsoluteHours, time.Hour, DefaultAbsolute)
	return idle, absolute, err
}

func (m *Sessions) durationSetting(ctx context.Context, key string, unit, def time.Duration) (time.Duration, error) {
	v, err := m.st.Setting(ctx, key, "")
	if err != nil || v == "" {
		return def, err
	}
	n, err := strconv.Atoi(v)
	if err != nil || n <= 0 {
		return def, nil
	}
	return time.Duration(n) * unit, nil
}

func hashToken(tok string) []byte {
	h := sha256.Sum256([]byte(tok))
	return h[:]
}

// Live is a session in use: the stored session, its user, and the CSRF token every
// state-changing request of this session must carry.
type Live struct {
	Session store.Session
	User    store.User
	CSRF    string
}

// csrfFor is the CSRF token of the session whose secret token is tok: an HMAC of it under a
// key of this portal. It is bound to that one session (a token seen in another session, or
// before sign-in, is worthless), changes at every sign-in because the session token does,
// and needs no storage: the server recomputes it from the cookie on every request.
func (m *Sessions) csrfFor(tok string) string {
	mac := hmac.New(sha256.New, m.csrfKey)
	mac.Write([]byte("rolegate csrf\x00" + tok))
	return base64.RawURLEncoding.EncodeToString(mac.Sum(nil))
}

// CheckCSRF reports, in constant time, whether got is the CSRF token of the live session.
func (l Live) CheckCSRF(got string) bool {
	return l.CSRF != "" && subtle.ConstantTimeCompare([]byte(got), []byte(l.CSRF)) == 1
}

// Start signs userID in: it creates a session with a new random token and sets the cookie.
// replaceID is the session the request had (0 if none); it is ended, so the id rotates at
// sign-in and a fixated cookie is worthless. amr says how it was signed in (store.AMR…).
func (m *Sessions) Start(w http.ResponseWriter, r *http.Request, userID, replaceID int64, clientIP, amr string) (Live, error) {
	_, absolute, err := m.Timeouts(r.Context())
	if err != nil {
		return Live{}, err
	}
	raw := make([]byte, 32)
	if _, err := rand.Read(raw); err != nil {
		return Live{}, fmt.Errorf("auth: session token: %w", err)
	}
	tok := base64.RawURLEncoding.EncodeToString(raw)
	now := m.now().Unix()
	ua := r.UserAgent()
	if len(ua) > 300 {
		ua = ua[:300]
	}
	sess, err := m.st.CreateSession(r.Context(), hashToken(tok), store.Session{
		UserID: userID, CreatedAt: now, LastSeenAt: now, ExpiresAt: now + int64(absolute/time.Second),
		UserAgent: ua, ClientIP: clientIP, AMR: amr,
	}, replaceID)
	if err != nil {
		return Live{}, err
	}
	c := sessions.NewSession(m.cookies, m.name)
	c.Options = m.cookieOptions(0)
	c.Options.Domain = m.domain
	c.Values["t"] = tok
	if err := m.cookies.Save(r, w, c); err != nil {
		return Live{}, fmt.Errorf("auth: save session cookie: %w", err)
	}
	return Live{Session: sess, CSRF: m.csrfFor(tok)}, nil
}

func (m *Sessions) cookieOptions(maxAge int) *sessions.Options {
	o := *m.cookies.Options
	o.MaxAge = maxAge
	return &o
}

// Load returns the live session of the request (read at the counters of ctx), or ErrNoSession. It applies the idle and
// absolute timeouts and refuses disabled users, so each of those takes effect on the very
// next request.
func (m *Sessions) Load(ctx context.Context, r *http.Request) (*Live, error) {
	raw, err := r.Cookie(m.name)
	if err != nil || raw.Value == "" {
		return nil, ErrNoSession
	}
	v, err := m.st.Versions(ctx)
	if err != nil {
		return nil, err
	}
	set := m.cached(v)
	set.mu.Lock()
	k, hit := set.byCookie[raw.Value]
	set.mu.Unlock()
	now := m.now()
	changed := !hit
	// Opening the cookie (HMAC, AES, gob) is most of a forward-auth decision; a cookie
	// opened less than a minute ago is known to be ours and to hold the same token.
	if !hit || now.Sub(k.opened) >= touchEvery {
		c, err := m.cookies.New(r, m.name)
		if err != nil || c.IsNew {
			return nil, ErrNoSession
		}
		tok, _ := c.Values["t"].(string)
		if tok == "" {
			return nil, ErrNoSession
		}
		if !hit || k.tok != tok {
			k, hit = known{tok: tok, hash: hashToken(tok)}, false
		}
		k.opened, changed = now, true
	}
	idle, _, err := m.Timeouts(ctx)
	if err != nil {
		return nil, err
	}
	expired := func(s store.Session) bool {
		return now.Unix() >= s.ExpiresAt || now.Sub(time.Unix(s.LastSeenAt, 0)) >= idle
	}
	// What is known may have fallen behind activity recorded elsewhere (another instance),
	// so a known session that looks timed out is read again before it is ended.
	if !hit || expired(k.live.Session) {
		sess, user, err := m.read(ctx, k.hash)
		if err != nil {
			return nil, err
		}
		if expired(sess) {
			m.forgetKnown()
			return nil, errors.Join(ErrNoSession, m.st.DeleteSession(ctx, sess.ID))
		}
		k.live, changed = &Live{Session: sess, User: user, CSRF: m.csrfFor(k.tok)}, true
	}
	if k.live.User.Disabled {
		return nil, ErrNoSession
	}
	if now.Sub(time.Unix(k.live.Session.LastSeenAt, 0)) >= touchEvery {
		if err := m.st.TouchSession(ctx, k.live.Session.ID, now.Unix()); err != nil {
			return nil, err
		}
		touched := *k.live
		touched.Session.LastSeenAt = now.Unix()
		k.live, changed = &touched, true
	}
	if changed {
		set.mu.Lock()
		set.byCookie[raw.Value] = k
		set.mu.Unlock()
	}
	return k.live, nil
}

// read finds a session and its person in the database; ErrNoSession when either is gone.
func (m *Sessions) read(ctx context.Context, h []byte) (store.Session, store.User, error) {
	sess, err := m.st.SessionByTokenHash(ctx, h)
	if errors.Is(err, store.ErrNotFound) {
		return sess, store.User{}, ErrNoSession
	}
	if err != nil {
		return sess, store.User{}, err
	}
	u, err := m.st.UserByID(ctx, sess.UserID)
	if errors.Is(err, store.ErrNotFound) {
		return sess, u, ErrNoSession
	}
	return sess, u, err
}

// Clear removes the session cookie from the browser.
func (m *Sessions) Clear(w http.ResponseWriter, r *http.Request) error {
	c := sessions.NewSession(m.cookies, m.name)
	c.Options = m.cookieOptions(-1)
	c.Options.Domain = m.domain
	if err := m.cookies.Save(r, w, c); err != nil {
		return fmt.Errorf("auth: clear session cookie: %w", err)
	}
	return nil
}

// Flash stores a one-time message for the next page in its own short-lived cookie, signed
// and encrypted like the session cookie, so it also works before sign-in and after sign-out.
func (m *Sessions) Flash(w http.ResponseWriter, r *http.Request, msg string) error {
	c := sessions.NewSession(m.cookies, m.prefixed("rolegate_flash"))
	c.Options = m.cookieOptions(60)
	c.AddFlash(msg)
	if err := m.cookies.Save(r, w, c); err != nil {
		return fmt.Errorf("auth: save flash cookie: %w", err)
	}
	return nil
}

// TakeFlash returns the pending flash messages and removes them.
func (m *Sessions) TakeFlash(w http.ResponseWriter, r *http.Request) ([]string, error) {
	c, err := m.cookies.New(r, m.prefixed("rolegate_flash"))
	if err != nil || c.IsNew {
		return nil, nil // none, or one we did not sign: nothing to show
	}
	var out []string
	for _, f := range c.Flashes() {
		if s, ok := f.(string); ok {
			out = append(out, s)
		}
	}
	c.Options = m.cookieOptions(-1)
	if err := m.cookies.Save(r, w, c); err != nil {
		return out, fmt.Errorf("auth: remove flash cookie: %w", err)
	}
	return out, nil
}

// prefixed gives a cookie name the __Host- prefix when the portal is served over HTTPS.
func (m *Sessions) prefixed(name string) string {
	if m.cookies.Options.Secure {
		return "__Host-" + name
	}
	return name
}

// Device returns the id of this browser's device cookie when it was issued for email (after
// a correct password for it), or "" — the sign-in throttle then treats the browser as
// unknown. A cookie for another account, forged, or expired counts as none.
func (m *Sessions) Device(r *http.Request, email string) string {
	c, err := r.Cookie(m.prefixed("rolegate_device"))
	if err != nil {
		return ""
	}
	var v struct{ Email, ID string }
	if m.device.Decode(c.Name, c.Value, &v) != nil || v.ID == "" || v.Email != accountKey(email) {
		return ""
	}
	return v.ID
}

// RememberDevice gives this browser a device cookie for email, after a correct password.
// The browser then keeps its own sign-in allowance for that account (see Throttle).
func (m *Sessions) RememberDevice(w http.ResponseWriter, r *http.Request, email string) error {
	id := m.Device(r, email)
	if id == "" {
		raw := make([]byte, 16)
		if _, err := rand.Read(raw); err != nil {
			return fmt.Errorf("auth: device id: %w", err)
		}
		id = base64.RawURLEncoding.EncodeToString(raw)
	}
	name := m.prefixed("rolegate_device")
	val, err := m.device.Encode(name, struct{ Email, ID string }{accountKey(email), id})
	if err != nil {
		return fmt.Errorf("auth: device cookie: %w", err)
	}
	o := m.cookieOptions(int(deviceAge / time.Second))
	http.SetCookie(w, &http.Cookie{Name: name, Value: val, Path: "/", MaxAge: o.MaxAge, HttpOnly: true, Secure: o.Secure, SameSite: o.SameSite})
	return nil
}

// PendingAge is how long a right password waits for its second step.
const PendingAge = 5 * time.Minute

// StartPending tells this browser that userID typed the right password and owes the second
// step: a signed, encrypted cookie for PendingAge, and no session until the step is passed.
func (m *Sessions) StartPending(w http.ResponseWriter, userID int64) error {
	name := m.prefixed("rolegate_pending")
	val, err := m.pending.Encode(name, userID)
	if err != nil {
		return fmt.Errorf("auth: pending cookie: %w", err)
	}
	http.SetCookie(w, &http.Cookie{Name: name, Value: val, Path: "/", MaxAge: int(PendingAge / time.Second), HttpOnly: true,
		Secure: m.cookies.Options.Secure, SameSite: http.SameSiteStrictMode})
	return nil
}

// Pending is the person whose right password this browser typed within PendingAge, if any.
func (m *Sessions) Pending(r *http.Request) (int64, bool) {
	c, err := r.Cookie(m.prefixed("rolegate_pending"))
	if err != nil {
		return 0, false
	}
	var id int64
	if m.pending.Decode(c.Name, c.Value, &id) != nil || id <= 0 {
		return 0, false
	}
	return id, true
}

// StartSSO keeps f in this browser while it signs in at the identity provider: sealed, for
// PendingAge, and SameSite=Lax so the provider's redirect back (a top-level GET) brings it.
func (m *Sessions) StartSSO(w http.ResponseWriter, f SSOFlow) error {
	name := m.prefixed("rolegate_sso")
	val, err := m.pending.Encode(name, f)
	if err != nil {
		return fmt.Errorf("auth: sso cookie: %w", err)
	}
	http.SetCookie(w, &http.Cookie{Name: name, Value: val, Path: "/", MaxAge: int(PendingAge / time.Second), HttpOnly: true,
		Secure: m.cookies.Options.Secure, SameSite: http.SameSiteLaxMode})
	return nil
}

// TakeSSO returns the flow this browser started, and ends it: each is used once.
func (m *Sessions) TakeSSO(w http.ResponseWriter, r *http.Request) (SSOFlow, bool) {
	name := m.prefixed("rolegate_sso")
	c, err := r.Cookie(name)
	if err != nil {
		return SSOFlow{}, false
	}
	http.SetCookie(w, &http.Cookie{Name: name, Value: "", Path: "/", MaxAge: -1, HttpOnly: true, Secure: m.cookies.Options.Secure,
		SameSite: http.SameSiteLaxMode})
	var f SSOFlow
	if m.pending.Decode(name, c.Value, &f) != nil || f.State == "" {
		return SSOFlow{}, false
	}
	return f, true
}

// StartCeremony keeps a passkey ceremony in this browser until its answer comes back: sealed,
// for PendingAge. One at a time: a new one replaces the last.
func (m *Sessions) StartCeremony(w http.ResponseWriter, c Ceremony) error {
	name := m.prefixed("rolegate_passkey")
	val, err := m.pending.Encode(name, c)
	if err != nil {
		return fmt.Errorf("auth: passkey cookie: %w", err)
	}
	http.SetCookie(w, &http.Cookie{Name: name, Value: val, Path: "/", MaxAge: int(PendingAge / time.Second), HttpOnly: true,
		Secure: m.cookies.Options.Secure, SameSite: http.SameSiteStrictMode})
	return nil
}

// TakeCeremony returns the passkey ceremony this browser started, and ends it: each answer
// is checked once.
func (m *Sessions) TakeCeremony(w http.ResponseWriter, r *http.Request) (Ceremony, bool) {
	name := m.prefixed("rolegate_passkey")
	c, err := r.Cookie(name)
	if err != nil {
		return Ceremony{}, false
	}
	http.SetCookie(w, &http.Cookie{Name: name, Value: "", Path: "/", MaxAge: -1, HttpOnly: true, Secure: m.cookies.Options.Secure,
		SameSite: http.SameSiteStrictMode})
	var cer Ceremony
	if m.pending.Decode(name, c.Value, &cer) != nil || cer.Kind == "" {
		return Ceremony{}, false
	}
	return cer, true
}

// ClearPending ends the wait for a second step (passed, or given up).
func (m *Sessions) ClearPending(w http.ResponseWriter) {
	http.SetCookie(w, &http.Cookie{Name: m.prefixed("rolegate_pending"), Value: "", Path: "/", MaxAge: -1, HttpOnly: true,
		Secure: m.cookies.Options.Secure, SameSite: http.SameSiteStrictMode})
}

// Sweep deletes sessions that have timed out. Checks never rely on it (Load applies the
// timeouts itself); it only keeps the table small.
func (m *Sessions) Sweep(ctx context.Context) error {
	idle, _, err := m.Timeouts(ctx)
	if err != nil {
		return err
	}
	now := m.now()
	return m.st.DeleteExpiredSessions(ctx, now.Unix(), now.Add(-idle).Unix())
}
