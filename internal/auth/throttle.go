package auth

import (
	"strings"
	"sync"
	"time"
)

// Throttle limits password guessing. Per account: after a few failures each further attempt
// must wait (doubling up to a minute), and at most MaxAccountFailures failures an hour are
// allowed. Per client address: at most MaxAddressFailures failures in the window. Accounts
// are keyed by the typed email, so unknown addresses are throttled exactly like real ones and
// the answer never reveals which exist. State lives in memory: one binary, one process.
type Throttle struct {
	mu       sync.Mutex
	now      func() time.Time
	accounts map[string]*failures
	addrs    map[string]*failures
}

// Limits of the throttle.
const (
	MaxAccountFailures = 100 // an hour, per account (PRODUCT.md §2.1)
	FreeFailures       = 5   // failures before attempts on an account must wait
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

// NewThrottle returns an empty throttle; now is the clock (time.Now outside tests).
func NewThrottle(now func() time.Time) *Throttle {
	if now == nil {
		now = time.Now
	}
	return &Throttle{now: now, accounts: map[string]*failures{}, addrs: map[string]*failures{}}
}

func accountKey(email string) string { return strings.ToLower(strings.TrimSpace(email)) }

// Allow reports whether a sign-in attempt for email from addr may be checked now; when not,
// it also says how long to wait.
func (t *Throttle) Allow(email, addr string) (bool, time.Duration) {
	t.mu.Lock()
	defer t.mu.Unlock()
	now := t.now()
	if f := t.addrs[addr]; f != nil {
		f.prune(now.Add(-AddressWindow))
		if len(f.times) >= MaxAddressFailures {
			return false, f.times[0].Add(AddressWindow).Sub(now)
		}
	}
	f := t.accounts[accountKey(email)]
	if f == nil {
		return true, 0
	}
	f.prune(now.Add(-accountWindow))
	n := len(f.times)
	if n >= MaxAccountFailures {
		return false, f.times[0].Add(accountWindow).Sub(now)
	}
	if n >= FreeFailures {
		delay := time.Second << min(n-FreeFailures, 6)
		delay = min(delay, maxDelay)
		if wait := f.times[n-1].Add(delay).Sub(now); wait > 0 {
			return false, wait
		}
	}
	return true, 0
}

// Fail records a failed attempt.
func (t *Throttle) Fail(email, addr string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	now := t.now()
	for _, pair := range []struct {
		m   map[string]*failures
		key string
	}{{t.accounts, accountKey(email)}, {t.addrs, addr}} {
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
}

// Succeed clears the account's failures after a correct password.
func (t *Throttle) Succeed(email string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	delete(t.accounts, accountKey(email))
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
