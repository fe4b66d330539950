package store_test

import (
	"context"
	"slices"
	"testing"

	"github.com/rolegate/rolegate/internal/audit"
	"github.com/rolegate/rolegate/internal/store"
)

// The exports keep the page's order (newest first); verification still walks oldest first. A
// setting changed by a named actor is recorded as theirs, whatever the context says.
func TestAuditOrderAndSettingActor(t *testing.T) {
	st, _ := openStore(t)
	ctx := context.Background()
	u, _, err := st.Setup(ctx, setupInput())
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range []string{"Europe/Madrid", "Asia/Tokyo", ""} {
		if err := st.SetSettingBy(ctx, "time_zone", v, u.ID); err != nil {
			t.Fatal(err)
		}
	}
	if err := st.SetSettingBy(ctx, "time_zone", "", u.ID); err != nil { // unchanged: nothing recorded
		t.Fatal(err)
	}
	ids := func(newest bool) (out []int64, actors []string) {
		err := st.EachAudit(ctx, store.AuditQuery{Action: audit.SettingChanged, NewestFirst: newest}, func(e audit.Entry) error {
			out, actors = append(out, e.ID), append(actors, e.ActorName)
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		return out, actors
	}
	oldest, actors := ids(false)
	newest, _ := ids(true)
	if len(oldest) != 3 || !slices.IsSorted(oldest) || !slices.Equal(newest, []int64{oldest[2], oldest[1], oldest[0]}) {
		t.Fatalf("oldest first %v, newest first %v", oldest, newest)
	}
	if !slices.Equal(actors, []string{"Ana Ruiz", "Ana Ruiz", "Ana Ruiz"}) {
		t.Fatalf("actors: %q", actors)
	}
	if v, err := st.Setting(ctx, "time_zone", "unset"); err != nil || v != "" {
		t.Fatalf("setting: %q %v", v, err)
	}
}
