package auth

import (
	"slices"
	"strings"
	"sync"
	"time"
)

// Throttle limits password guessing. Per account: after a few failures each further attempt
// must wait (doubling up to a minute), and at most MaxAccountFailures failures an hour are
// allowed. Per client address: at most MaxAddressFailures failures in the window. Accounts
// are keyed by the typed email, so unknown addresses are throttled exactly like real ones and
// the answer never reveals which exist.
//
// An attempt is counted when it is reserved, before the password is hashed, so guesses sent
// all at once are counted like guesses sent one by one; a correct password refunds it.
//
// A browser that signed in to an account before carries a device cookie for it (OWASP's
// "device cookies"): its attempts on that account are counted against that device alone,
// with its own smaller allowance, so an attacker guessing from elsewhere cannot lock the
// real person out, while every client without one shares the account's limits.
//
// State lives in memory: one binary, one process per database (serve holds a lock on it).
type Throttle struct {
	mu       sync.Mutex
	now      func() time.Time
	accounts map[string]*failures // typed email, or device\x00email\x00id for a known device
	addrs    map[string]*failures
}

// Limits of the throttle.
const (
	MaxAccountFailures = 100 // an hour, per account (PRODUCT.md §2.1)
	FreeFailures       = 5   // failures before attempts on an account must wait
	MaxDeviceFailures  = 10  // an hour, per known device and account
	MaxAddressFailures = 50  // per client address, per AddressWindow
	AddressWindow      = 15 * time.Minute
	accountWindow      = time.Hour
	maxDelay           = time.Minute
)

type failures struct {
	times []time.Time // within the window, oldest first
}

func (f *failures) prune(cutoff time.Time) {
	i := 0
	for i < len(f.times) && !f.times[i].After(cutoff) {
		i++
	}
	f.times = f.times[i:]
}

// remove takes one failure at exactly t back (a refunded reservation).
func (f *failures) remove(t time.Time) {
	if i := slices.IndexFunc(f.times, t.Equal); i >= 0 {
		f.times = slices.Delete(f.times, i, i+1)
	}
}

// NewThrottle returns an empty throttle; now is the clock (time.Now outside tests).
func NewThrottle(now func() time.Time) *Throttle {
	if now == nil {
		now = time.Now
	}
	return &Throttle{now: now, accounts: map[string]*failures{}, addrs: map[string]*failures{}}
}

func accountKey(email string) string { return strings.ToLower(strings.TrimSpace(email)) }

// Attempt is one reserved password check.
type Attempt struct {
	t       *Throttle
	account string // the key in t.accounts this attempt was counted under
	addr    string
	at      time.Time
	done    bool
}

// Reserve counts an attempt to sign in to email from client address addr, from a browser
// whose device cookie for this account is device ("" when it has none). It returns the
// attempt, or nil and how long to wait when the attempt may not be made now.
func (t *Throttle) Reserve(email, addr, device string) (*Attempt, time.Duration) {
	t.mu.Lock()
	defer t.mu.Unlock()
	now := t.now()
	if f := t.addrs[addr]; f != nil {
		f.prune(now.Add(-AddressWindow))
		if len(f.times) >= MaxAddressFailures {
			return nil, f.times[0].Add(AddressWindow).Sub(now)
		}
	}
	key, limit := accountKey(email), MaxAccountFailures
	if device != "" {
		key, limit = "device\x00"+key+"\x00"+device, MaxDeviceFailures
	}
	f := t.accounts[key]
	if f != nil {
		if wait := f.wait(now, limit); wait > 0 {
			return nil, wait
		}
	}
	for _, pair := range []struct {
		m   map[string]*failures
		key string
	}{{t.accounts, key}, {t.addrs, addr}} {
		f := pair.m[pair.key]
		if f == nil {
			f = &failures{}
			pair.m[pair.key] = f
		}
		f.times = append(f.times, now)
	}
	// Forget idle entries now and then so the maps cannot grow without bound.
	if len(t.accounts)+len(t.addrs) > 10000 {
		t.sweep(now)
	}
	return &Attempt{t: t, account: key, addr: addr, at: now}, 0
}

// wait is how long the next attempt must wait given these failures (0: it may go now).
func (f *failures) wait(now time.Time, limit int) time.Duration {
	f.prune(now.Add(-accountWindow))
	n := len(f.times)
	if n >= limit {
		return f.times[0].Add(accountWindow).Sub(now)
	}
	if n >= FreeFailures {
		delay := min(time.Second<<min(n-FreeFailures, 6), maxDelay)
		if wait := f.times[n-1].Add(delay).Sub(now); wait > 0 {
			return wait
		}
	}
	return 0
}

// Succeeded records that the password was right: the account's (or the device's) failures
// are forgotten and this attempt no longer counts against the address.
func (a *Attempt) Succeeded() {
	t := a.t
	t.mu.Lock()
	defer t.mu.Unlock()
	if a.done {
		return
	}
	a.done = true
	delete(t.accounts, a.account)
	if f := t.addrs[a.addr]; f != nil {
		f.remove(a.at)
	}
}

// Refund takes the attempt back without judging the password: it was never checked (the
// server was too busy, or the request ended first).
func (a *Attempt) Refund() {
	t := a.t
	t.mu.Lock()
	defer t.mu.Unlock()
	if a.done {
		return
	}
	a.done = true
	for _, f := range []*failures{t.accounts[a.account], t.addrs[a.addr]} {
		if f != nil {
			f.remove(a.at)
		}
	}
}

func (t *Throttle) sweep(now time.Time) {
	for k, f := range t.accounts {
		if f.prune(now.Add(-accountWindow)); len(f.times) == 0 {
			delete(t.accounts, k)
		}
	}
	for k, f := range t.addrs {
		if f.prune(now.Add(-AddressWindow)); len(f.times) == 0 {
			delete(t.addrs, k)
		}
	}
}
