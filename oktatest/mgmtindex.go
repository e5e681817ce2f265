package oktatest

import (
	"crypto/hmac"
	"crypto/sha256"
	"slices"
	"strings"
)

// idIndex is a set of object ids kept sorted, for cursor pagination in
// O(log n + page) per request. Additions are buffered and merged in on the
// next read, so that adding many ids costs one sort. Guarded by s.mu.
type idIndex struct {
	sorted  []string
	pending []string
}

// add adds an id that is not in the index.
func (x *idIndex) add(id string) { x.pending = append(x.pending, id) }

// flush merges the pending ids into the sorted ones.
func (x *idIndex) flush() {
	if len(x.pending) == 0 {
		return
	}
	p := x.pending
	x.pending = nil
	slices.Sort(p)
	if len(x.sorted) == 0 {
		x.sorted = p
		return
	}
	out := make([]string, 0, len(x.sorted)+len(p))
	i, j := 0, 0
	for i < len(x.sorted) && j < len(p) {
		if x.sorted[i] < p[j] {
			out = append(out, x.sorted[i])
			i++
		} else {
			out = append(out, p[j])
			j++
		}
	}
	out = append(out, x.sorted[i:]...)
	x.sorted = append(out, p[j:]...)
}

// remove removes id from the index, if present.
func (x *idIndex) remove(id string) {
	x.flush()
	if i, ok := slices.BinarySearch(x.sorted, id); ok {
		x.sorted = slices.Delete(x.sorted, i, i+1)
	}
}

// ids returns the sorted ids. The slice is valid only while s.mu is held.
func (x *idIndex) ids() []string {
	x.flush()
	return x.sorted
}

// len returns the number of ids.
func (x *idIndex) len() int { return len(x.sorted) + len(x.pending) }

// pageIDs returns up to limit ids of sorted that come after the id after
// ("" for the first page) and satisfy keep, and whether at least one more
// such id follows. It reads only as far as it needs to.
func pageIDs(sorted []string, after string, limit int, keep func(id string) bool) (page []string, more bool) {
	i := 0
	if after != "" {
		i, _ = slices.BinarySearch(sorted, after)
		if i < len(sorted) && sorted[i] == after {
			i++
		}
	}
	for ; i < len(sorted); i++ {
		if keep != nil && !keep(sorted[i]) {
			continue
		}
		if len(page) == limit {
			return page, true
		}
		page = append(page, sorted[i])
	}
	return page, false
}

// encodeCursor returns the opaque "after" cursor that resumes a listing at
// path after the object lastID. Cursors are authenticated, so a client
// that builds its own (from an id, say) gets a 400, as it would from Okta
// whose cursors are not ids.
func (s *Server) encodeCursor(path, lastID string) string {
	mac := hmac.New(sha256.New, s.api.cursorKey)
	mac.Write([]byte(path + "\x00" + lastID))
	return b64.EncodeToString([]byte(lastID)) + "." + b64.EncodeToString(mac.Sum(nil)[:12])
}

// decodeCursor returns the id a cursor from encodeCursor resumes after.
func (s *Server) decodeCursor(path, cursor string) (string, bool) {
	idPart, _, ok := strings.Cut(cursor, ".")
	if !ok {
		return "", false
	}
	id, err := b64.DecodeString(idPart)
	if err != nil || !hmac.Equal([]byte(s.encodeCursor(path, string(id))), []byte(cursor)) {
		return "", false
	}
	return string(id), true
}
