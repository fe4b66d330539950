package store_test

import (
	"context"
	"crypto/sha256"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/rolegate/rolegate/internal/store"
)

func recoveryHashes(n int) [][]byte {
	var out [][]byte
	for i := range n {
		h := sha256.Sum256([]byte{byte(i)})
		out = append(out, h[:])
	}
	return out
}

// Passkeys are per person; a credential is registered once; the recovery codes that came
// with the first go when the last second step does; an admin's reset takes passkeys too.
func TestPasskeysStore(t *testing.T) {
	st, _ := openStore(t)
	ctx := context.Background()
	u, o, err := st.Setup(ctx, setupInput())
	if err != nil {
		t.Fatal(err)
	}
	laptop, codes, err := st.AddPasskey(ctx, store.Passkey{UserID: u.ID, Name: "Laptop", CredentialID: []byte("cred-1"), Credential: []byte(`{}`)}, recoveryHashes(10))
	if err != nil || !codes {
		t.Fatalf("first passkey: codes %v, %v", codes, err)
	}
	if _, _, err := st.AddPasskey(ctx, store.Passkey{UserID: u.ID, Name: "Again", CredentialID: []byte("cred-1"), Credential: []byte(`{}`)}, nil); !errors.Is(err, store.ErrPasskeyTaken) {
		t.Fatalf("the same credential twice: %v", err)
	}
	// A second passkey offering codes (added at the same moment as the first, say) keeps
	// the first one's.
	key, codes, err := st.AddPasskey(ctx, store.Passkey{UserID: u.ID, Name: "Key", CredentialID: []byte("cred-2"), Credential: []byte(`{}`)}, recoveryHashes(3))
	if err != nil || codes {
		t.Fatalf("second passkey: codes %v, %v", codes, err)
	}
	if ts, _ := st.TwoStepOf(ctx, u.ID); !ts.On() || ts.TOTP || ts.Passkeys != 2 || ts.RecoveryLeft != 10 {
		t.Fatalf("after two passkeys: %+v", ts)
	}
	if got, err := st.PasskeyByCredentialID(ctx, []byte("cred-2")); err != nil || got.ID != key.ID || got.Name != "Key" {
		t.Fatalf("by credential id: %+v %v", got, err)
	}
	if err := st.UsePasskey(ctx, key.ID, []byte(`{"n":1}`)); err != nil {
		t.Fatal(err)
	}
	if got, _ := st.PasskeyByCredentialID(ctx, []byte("cred-2")); got.LastUsedAt == 0 || string(got.Credential) != `{"n":1}` {
		t.Fatalf("after use: %+v", got)
	}
	if err := st.RemovePasskey(ctx, u.ID+1, laptop.ID, nil); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("someone else removing it: %v", err)
	}
	if err := st.RemovePasskey(ctx, u.ID, laptop.ID, []int64{o.ID}); err != nil {
		t.Fatal(err)
	}
	if ts, _ := st.TwoStepOf(ctx, u.ID); ts.Passkeys != 1 || ts.RecoveryLeft != 10 {
		t.Fatalf("one passkey left, the recovery codes stay: %+v", ts)
	}
	if err := st.RemoveTwoStep(ctx, u.ID, []int64{o.ID}, false); err != nil {
		t.Fatal(err)
	}
	if ts, _ := st.TwoStepOf(ctx, u.ID); ts.Passkeys != 1 {
		t.Fatalf("turning off an app (none here) took the passkey: %+v", ts)
	}
	if err := st.RemoveTwoStep(ctx, u.ID, []int64{o.ID}, true); err != nil {
		t.Fatal(err)
	}
	if ts, _ := st.TwoStepOf(ctx, u.ID); ts.On() || ts.RecoveryLeft != 0 {
		t.Fatalf("after an admin's reset: %+v", ts)
	}
}

// A challenge is taken once, even by two requests at the same moment.
func TestUseChallengeOnce(t *testing.T) {
	st, _ := openStore(t)
	ctx := context.Background()
	h := sha256.Sum256([]byte("challenge"))
	var wg sync.WaitGroup
	var mu sync.Mutex
	fresh := 0
	for range 8 {
		wg.Go(func() {
			ok, err := st.UseChallenge(ctx, h[:], time.Now().Add(time.Minute).Unix())
			if err != nil {
				t.Error(err)
			}
			if ok {
				mu.Lock()
				fresh++
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if fresh != 1 {
		t.Fatalf("taken %d times", fresh)
	}
}
