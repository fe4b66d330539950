package rbac

import "iter"

// People are kept in chunks of consecutive ids (the store's ids are SQLite rowids, dense
// from 1), so a person is found with two index operations, everyone is walked in id order
// without sorting, and a change copies only the chunk list and the chunks it touches.
const (
	chunkBits = 9
	chunkSize = 1 << chunkBits
)

type chunk [chunkSize]*userEntry

// userTable holds the people of a snapshot by id. It is persistent: an edit returns a new
// table sharing every untouched chunk with the old one, which its readers go on using.
type userTable struct {
	chunks []*chunk
	n      int
}

func (t *userTable) get(id int64) *userEntry {
	if id <= 0 {
		return nil
	}
	c := id >> chunkBits
	if c >= int64(len(t.chunks)) || t.chunks[c] == nil {
		return nil
	}
	return t.chunks[c][id&(chunkSize-1)]
}

// all yields everyone in id order.
func (t *userTable) all() iter.Seq[*userEntry] {
	return func(yield func(*userEntry) bool) {
		for _, c := range t.chunks {
			if c == nil {
				continue
			}
			for _, u := range c {
				if u != nil && !yield(u) {
					return
				}
			}
		}
	}
}

// tableEdit is a batch of changes to a copy of a table: each chunk is copied at its first
// change and written in place after that.
type tableEdit struct {
	t      userTable
	copied map[int64]bool
}

func (t *userTable) edit() *tableEdit {
	return &tableEdit{t: userTable{chunks: append([]*chunk(nil), t.chunks...), n: t.n}, copied: map[int64]bool{}}
}

// set puts u (nil: nobody) at id.
func (e *tableEdit) set(id int64, u *userEntry) {
	if id <= 0 {
		return
	}
	c := id >> chunkBits
	for c >= int64(len(e.t.chunks)) {
		e.t.chunks = append(e.t.chunks, nil)
	}
	if !e.copied[c] {
		fresh := new(chunk)
		if old := e.t.chunks[c]; old != nil {
			*fresh = *old
		}
		e.t.chunks[c], e.copied[c] = fresh, true
	}
	slot := &e.t.chunks[c][id&(chunkSize-1)]
	switch {
	case *slot == nil && u != nil:
		e.t.n++
	case *slot != nil && u == nil:
		e.t.n--
	}
	*slot = u
}

func (e *tableEdit) done() userTable { return e.t }

// emailIndex finds people by (lower-case) email. It is split by a hash of the address into
// shards, each copied only when an address in it changes.
type emailIndex [64]map[string]int64

func emailShard(email string) int {
	h := uint32(2166136261) // FNV-1a
	for i := 0; i < len(email); i++ {
		h ^= uint32(email[i])
		h *= 16777619
	}
	return int(h % uint32(len(emailIndex{})))
}

func (x *emailIndex) get(email string) (int64, bool) {
	id, ok := x[emailShard(email)][email]
	return id, ok
}

// emailEdit is a batch of changes to a copy of an index.
type emailEdit struct {
	x      emailIndex
	copied [len(emailIndex{})]bool
}

func (x *emailIndex) edit() *emailEdit { return &emailEdit{x: *x} }

func (e *emailEdit) shard(email string) map[string]int64 {
	i := emailShard(email)
	if !e.copied[i] {
		m := make(map[string]int64, len(e.x[i])+1)
		for k, v := range e.x[i] {
			m[k] = v
		}
		e.x[i], e.copied[i] = m, true
	}
	return e.x[i]
}

func (e *emailEdit) put(email string, id int64) {
	if email != "" {
		e.shard(email)[email] = id
	}
}

// drop removes email if it still names id.
func (e *emailEdit) drop(email string, id int64) {
	if email == "" {
		return
	}
	if cur, ok := e.x[emailShard(email)][email]; ok && cur == id {
		delete(e.shard(email), email)
	}
}
