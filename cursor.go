package rapyer

import (
	"context"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/rapyer-go/rapyer/index"
)

// A cursor marks a position in a query's output: the sort key and the id of
// the object there, with the model, order field and direction it belongs
// to. It is text for a URL (unpadded base64url) and opaque: build one only
// with Page. Layout before base64: "c1", then the model, the order field
// (empty: by id) and the sort key, each a uvarint length and its bytes,
// then one byte 0 (ascending) or 1 (descending), then the id.
const cursorMagic = "c1"

func encodeCursor(model, order string, desc bool, h index.Hit) string {
	b := make([]byte, 0, len(cursorMagic)+len(model)+len(order)+len(h.SortKey)+len(h.ID)+8)
	b = append(b, cursorMagic...)
	for _, s := range []string{model, order, h.SortKey} {
		b = binary.AppendUvarint(b, uint64(len(s)))
		b = append(b, s...)
	}
	d := byte(0)
	if desc {
		d = 1
	}
	b = append(b, d)
	b = append(b, h.ID...)
	return base64.RawURLEncoding.EncodeToString(b)
}

var errCursor = errors.New("not a cursor of Page")

// decodeCursor is encodeCursor's inverse; errCursor (wrapped) on anything
// else.
func decodeCursor(c string) (model, order string, desc bool, h index.Hit, err error) {
	b, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil || len(b) < len(cursorMagic) || string(b[:len(cursorMagic)]) != cursorMagic {
		return "", "", false, h, errCursor
	}
	b = b[len(cursorMagic):]
	var parts [3]string
	for i := range parts {
		n, k := binary.Uvarint(b)
		if k <= 0 || n > uint64(len(b)-k) {
			return "", "", false, h, errCursor
		}
		parts[i], b = string(b[k:k+int(n)]), b[k+int(n):]
	}
	if len(b) < 2 || b[0] > 1 { // a direction byte and an id of at least one byte
		return "", "", false, h, errCursor
	}
	return parts[0], parts[1], b[0] == 1, index.Hit{SortKey: parts[2], ID: string(b[1:])}, nil
}

// decodeAfter checks After's cursor against the query (model, order field,
// direction) and returns its position; nil without After.
func decodeAfter(model, order string, desc bool, c *string) (*index.Hit, error) {
	if c == nil {
		return nil, nil
	}
	m, o, d, h, err := decodeCursor(*c)
	if err != nil {
		return nil, fmt.Errorf("%w: After(%.40q): %v", ErrInvalid, *c, err)
	}
	if m != model || o != order || d != desc {
		return nil, fmt.Errorf("%w: After: the cursor is of a query on %s ordered by %s, this one is on %s ordered by %s",
			ErrInvalid, m, orderName(o, d), model, orderName(order, desc))
	}
	return &h, nil
}

func orderName(order string, desc bool) string {
	if order == "" {
		order = "id"
	}
	if desc {
		return order + " descending"
	}
	return order
}

// After makes Iter and Page start right after the object cursor marks (a
// cursor Page returned, for a query with the same model, OrderBy field and
// direction), in the query's order: a keyset position, not an offset, so
// objects inserted or deleted before it do not shift the next page.
// Offset, when given too, skips from there. Other queries ignore it. A
// cursor that does not decode, or belongs to another model or order, is
// ErrInvalid (nothing sent).
// After("") is no option at all (the first page).
func After(cursor string) QueryOption {
	return queryOptionFunc(func(c *queryConfig) {
		if cursor != "" {
			c.after = &cursor
		}
	})
}

// Page returns one page of the objects pred matches, in the order opts
// give: at most PageSize of them (default DefaultPageSize; Limit, when
// smaller, instead), starting after After's cursor (from the first match
// without it), and the cursor of the page's last object, to pass to After
// for the next page; next is "" when no match follows. An HTTP handler
// pages with it and no Offset:
//
//	users, next, err := Users.Page(ctx, st, q.Age.Gte(18), rapyer.Asc(&q.Age),
//		rapyer.PageSize(20), rapyer.After(r.URL.Query().Get("after")))
//
// (an empty "after" parameter is the first page: After("") is ignored). One
// query round trip and one load round trip, as each page of Iter; an object
// deleted or expired between the two is left out of the page, which may
// then hold fewer objects though next is not "". Objects whose sort value
// changes between pages may be missed or seen twice. Errors as Find
// (Tolerant included: a *SkippedError beside the page), and ErrInvalid for
// a bad cursor.
func (s *Schema[M, P]) Page(ctx context.Context, st *Store, pred Pred, opts ...QueryOption) (objs []P, next string, err error) {
	p, err := compile("Page", s.sc, pred, opts)
	if err != nil {
		return nil, "", err
	}
	if err := p.checkRun(ctx, st); err != nil || p.None() {
		return nil, "", err
	}
	n := p.page
	if p.Limit >= 0 && p.Limit < n {
		n = p.Limit
	}
	if n == 0 {
		return nil, "", nil
	}
	// One more than the page, to know whether another follows.
	hits, err := p.search(ctx, index.ModeFind, p.Offset+n+1, p.Offset, n+1, p.after)
	if err != nil {
		return nil, "", err
	}
	if len(hits) > n {
		hits = hits[:n]
		next = encodeCursor(s.sc.name, p.Order, p.Desc, hits[n-1])
	}
	var bad []error
	objs, err = s.load(ctx, st, "Page", hits, p.tolerant, &bad)
	if err != nil {
		return objs, "", err
	}
	if len(bad) > 0 {
		return objs, next, &SkippedError{Op: "Page", Model: s.sc.name, Errs: bad}
	}
	return objs, next, nil
}
