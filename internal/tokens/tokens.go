// Package tokens holds API tokens (PRODUCT.md §2.9): who may make and end them, what a token
// reaches, and the rule that a token acts for its creator and never beyond the creator's
// current access, checked on every request rather than copied at creation.
package tokens

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rolegate/rolegate/internal/audit"
	"github.com/rolegate/rolegate/internal/rbac"
	"github.com/rolegate/rolegate/internal/store"
	"github.com/rolegate/rolegate/internal/valid"
)

// Scopes a token may carry.
const (
	ScopeCheck = "check" // ask whether someone holds a permission
	ScopeRead  = "read"  // read roles, holders, staff, the audit log
	ScopeWrite = "write" // give and take roles, invite
)

// AllScopes lists the scopes in the order forms show them.
var AllScopes = []string{ScopeCheck, ScopeRead, ScopeWrite}

// Prefix starts every token, so a leaked one is recognised by secret scanners.
const Prefix = "rgt_"

// MaxNameLen bounds a token's name.
const MaxNameLen = 100

// ErrInvalid is the one answer to a token that is missing, unknown, expired or revoked, or
// whose creator was disabled: the API says 401 and no more.
var ErrInvalid = errors.New("tokens: invalid token")

// Service makes, lists, ends and checks tokens.
type Service struct {
	Store  *store.Store
	Access *rbac.Engine
	Now    func() time.Time // time.Now when nil

	mu      sync.Mutex
	touched map[int64]int64 // last use written, per token (Unix seconds)

	// live holds the tokens not revoked, as read at one pair of counters: a request finds
	// its token in memory, and the set is re-read only after a token (or the access data
	// naming their organisations and creators) changed, in this process or another.
	live atomic.Pointer[liveSet]
}

type liveSet struct {
	tokens, access int64
	byHash         map[string]store.Token
}

// lookup finds the token with that hash in the live set, re-reading the set when the
// request's counters say it is behind.
func (s *Service) lookup(ctx context.Context, h []byte) (store.Token, bool, error) {
	v, err := s.Store.Versions(ctx)
	if err != nil {
		return store.Token{}, false, err
	}
	set := s.live.Load()
	if set == nil || set.tokens < v.Tokens || set.access < v.Access {
		m, at, err := s.Store.LiveTokens(ctx)
		if err != nil {
			return store.Token{}, false, err
		}
		set = &liveSet{tokens: at.Tokens, access: at.Access, byHash: m}
		if old := s.live.Load(); old == nil || (old.tokens <= set.tokens && old.access <= set.access) {
			s.live.Store(set)
		}
	}
	t, ok := set.byHash[string(h)]
	return t, ok, nil
}

// forget drops the live set after this process changed a token, so the rest of the request
// that changed it sees the change too.
func (s *Service) forget() { s.live.Store(nil) }

func (s *Service) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

// Form is what creating a token asks for.
type Form struct {
	Name       string
	OrgID      int64
	Scopes     []string
	ExpiryDays int // 0: never
}

// Created is a token just made: the secret, shown once, and what was stored.
type Created struct {
	Secret string
	Token  store.Token
}

// Create validates f and makes a token for actor, who needs integrations.manage in f.OrgID.
// Problems are keyed by the form fields name, org, scopes and expires.
func (s *Service) Create(ctx context.Context, actorID int64, f Form) (Created, valid.Problems, error) {
	// A token reaches as far as its creator: making one asks for a fresh second step.
	if err := audit.RequireFresh(ctx); err != nil {
		return Created{}, nil, err
	}
	p := valid.Problems{}
	var msg string
	f.Name, msg = valid.Text(f.Name, true, MaxNameLen)
	p.Add("name", msg)
	snap := s.Access.Now()
	if _, ok := snap.Org(f.OrgID); !ok {
		p.Add("org", "Choose an organisation.")
	} else if !snap.Can(actorID, f.OrgID, rbac.PermIntegrations) {
		return Created{}, nil, snap.Forbidden(f.OrgID, rbac.PermIntegrations)
	}
	scopes, msg := ParseScopes(f.Scopes)
	p.Add("scopes", msg)
	if f.ExpiryDays < 0 || f.ExpiryDays > 3650 {
		p.Add("expires", "Choose an expiry of at most ten years, or none.")
	}
	if len(p) > 0 {
		return Created{}, p, nil
	}
	raw := make([]byte, 32)
	if _, err := rand.Read(raw); err != nil {
		return Created{}, nil, fmt.Errorf("tokens: %w", err)
	}
	secret := Prefix + base64.RawURLEncoding.EncodeToString(raw)
	in := store.NewToken{Name: f.Name, Hash: hash(secret), Prefix: secret[:len(Prefix)+6], OrgID: f.OrgID, CreatedBy: actorID, Scopes: scopes}
	if f.ExpiryDays > 0 {
		in.ExpiresAt = s.now().Add(time.Duration(f.ExpiryDays) * 24 * time.Hour).Unix()
	}
	id, err := s.Store.CreateToken(ctx, in)
	if err != nil {
		return Created{}, nil, err
	}
	t, err := s.Store.TokenByID(ctx, id)
	return Created{Secret: secret, Token: t}, nil, err
}

// ParseScopes cleans a scope list (any order, repeats, spaces, one comma-separated string)
// into the canonical order; the message says what is wrong, "" when nothing.
func ParseScopes(in []string) ([]string, string) {
	seen := map[string]bool{}
	for _, item := range in {
		for _, sc := range strings.Split(item, ",") {
			if sc = strings.ToLower(strings.TrimSpace(sc)); sc == "" {
				continue
			}
			if !slices.Contains(AllScopes, sc) {
				return nil, "Unknown scope: use check, read or write."
			}
			seen[sc] = true
		}
	}
	var out []string
	for _, sc := range AllScopes {
		if seen[sc] {
			out = append(out, sc)
		}
	}
	if len(out) == 0 {
		return nil, "Choose at least one scope."
	}
	return out, ""
}

// Manageable are the organisations whose tokens actor may see and revoke: where they hold
// integrations.manage, and below. nil means every one (a global admin).
func (s *Service) Manageable(actorID int64) []int64 {
	snap := s.Access.Now()
	if snap.IsGlobalAdmin(actorID) {
		return nil
	}
	out := []int64{}
	for _, o := range snap.OrgsWhere(actorID, rbac.PermIntegrations) {
		for _, id := range snap.Subtree(o) {
			if !slices.Contains(out, id) {
				out = append(out, id)
			}
		}
	}
	return out
}

// List returns the tokens actor may manage, newest first.
func (s *Service) List(ctx context.Context, actorID int64) ([]store.Token, error) {
	return s.Store.ListTokens(ctx, s.Manageable(actorID))
}

// Revoke ends a token; actor needs integrations.manage in its organisation. A token of an
// organisation actor may not see is answered as unknown.
func (s *Service) Revoke(ctx context.Context, actorID, id int64) error {
	t, err := s.Store.TokenByID(ctx, id)
	if err != nil {
		return err
	}
	snap := s.Access.Now()
	if !snap.Can(actorID, t.OrgID, rbac.PermIntegrations) {
		return store.ErrNotFound
	}
	defer s.forget()
	return s.Store.RevokeToken(ctx, id, actorID)
}

// Principal is who a request with a live token acts as.
type Principal struct {
	TokenID   int64
	TokenName string
	UserID    int64 // the creator
	OrgID     int64 // what the token reaches: this organisation and below
	Scopes    []string
}

// HasScope reports whether the token carries sc.
func (p Principal) HasScope(sc string) bool { return slices.Contains(p.Scopes, sc) }

// Reaches reports whether org is the token's organisation or below it.
func (p Principal) Reaches(snap *rbac.Snapshot, orgID int64) bool {
	return snap.IsWithin(orgID, p.OrgID)
}

// Can reports whether the token may use perm in org: org within its reach, and the creator
// holding perm there now.
func (p Principal) Can(snap *rbac.Snapshot, orgID int64, perm string) bool {
	return p.Reaches(snap, orgID) && snap.Can(p.UserID, orgID, perm)
}

// touchEvery coalesces last-use writes: at most one per token in this long.
const touchEvery = 5 * time.Minute

// Authenticate checks a bearer secret. A missing, unknown, expired or revoked token, or one
// whose creator is disabled or gone, is ErrInvalid; the creator's permissions are never
// copied into the token, so every request sees their access as it is now.
func (s *Service) Authenticate(ctx context.Context, secret string) (Principal, error) {
	if !strings.HasPrefix(secret, Prefix) || len(secret) > 100 {
		return Principal{}, ErrInvalid
	}
	t, ok, err := s.lookup(ctx, hash(secret))
	if err != nil {
		return Principal{}, err
	}
	if !ok {
		return Principal{}, ErrInvalid
	}
	now := s.now().Unix()
	if t.RevokedAt != 0 || (t.ExpiresAt != 0 && now >= t.ExpiresAt) {
		return Principal{}, ErrInvalid
	}
	u, ok := s.Access.Now().User(t.CreatedBy)
	if !ok || u.Disabled {
		return Principal{}, ErrInvalid
	}
	if err := s.touch(ctx, t.ID, now); err != nil {
		return Principal{}, err
	}
	return Principal{TokenID: t.ID, TokenName: t.Name, UserID: t.CreatedBy, OrgID: t.OrgID, Scopes: t.Scopes}, nil
}

func (s *Service) touch(ctx context.Context, id, now int64) error {
	s.mu.Lock()
	if s.touched == nil {
		s.touched = map[int64]int64{}
	}
	last, seen := s.touched[id]
	if seen && now-last < int64(touchEvery/time.Second) {
		s.mu.Unlock()
		return nil
	}
	s.touched[id] = now
	s.mu.Unlock()
	return s.Store.TouchToken(ctx, id, now)
}

func hash(secret string) []byte {
	h := sha256.Sum256([]byte(secret))
	return h[:]
}

// ParseExpiry reads an expiry as typed in a form or on the command line: "" or "never" for
// none, else a number of days ("90" or "90d"), 1 to 3650.
func ParseExpiry(s string) (int, string) {
	s = strings.ToLower(strings.TrimSpace(s))
	if s == "" || s == "never" || s == "0" {
		return 0, ""
	}
	n, err := strconv.Atoi(strings.TrimSuffix(s, "d"))
	if err != nil || n < 1 || n > 3650 {
		return 0, "Give the expiry in days, from 1 to 3650 (for example 90d), or never."
	}
	return n, ""
}
