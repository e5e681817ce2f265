package oktatest

import (
	"errors"
	"strings"
	"time"
)

// The Management API's "filter" and "search" parameters take SCIM-like
// expressions: attr op "value", attr pr, combined with and, or and
// parentheses. The fake accepts the same grammar for both parameters, with
// the operators eq, ne, gt, ge, lt, le, sw, co and pr; string comparisons
// ignore case, timestamps compare as instants.

// attrKind is the type of a filterable attribute.
type attrKind int

const (
	attrString attrKind = iota
	attrTime
)

// userAttrs and groupAttrs are the attributes the fake can filter on.
var (
	userAttrs = map[string]attrKind{
		"id": attrString, "status": attrString, "created": attrTime, "lastUpdated": attrTime,
		"statusChanged": attrTime, "profile.login": attrString, "profile.email": attrString,
		"profile.firstName": attrString, "profile.lastName": attrString,
	}
	groupAttrs = map[string]attrKind{
		"id": attrString, "type": attrString, "created": attrTime, "lastUpdated": attrTime,
		"lastMembershipUpdated": attrTime, "profile.name": attrString, "profile.description": attrString,
	}
)

// predicate evaluates an expression for one object; get returns an
// attribute's value, a string or a time.Time (zero when absent).
type predicate func(get func(attr string) any) bool

var errBadFilter = errors.New("oktatest: invalid search criteria")

// filterParser is a recursive-descent parser over the tokens of an
// expression.
type filterParser struct {
	toks  []filterToken
	pos   int
	attrs map[string]attrKind
}

type filterToken struct {
	text   string
	quoted bool
}

// parseFilter compiles an expression over attrs.
func parseFilter(src string, attrs map[string]attrKind) (predicate, error) {
	toks, err := tokenizeFilter(src)
	if err != nil {
		return nil, err
	}
	p := &filterParser{toks: toks, attrs: attrs}
	pred, err := p.or()
	if err != nil {
		return nil, err
	}
	if p.pos != len(p.toks) {
		return nil, errBadFilter
	}
	return pred, nil
}

// tokenizeFilter splits an expression into words, quoted strings and
// parentheses.
func tokenizeFilter(src string) ([]filterToken, error) {
	var toks []filterToken
	for i := 0; i < len(src); {
		switch c := src[i]; {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			i++
		case c == '(' || c == ')':
			toks = append(toks, filterToken{text: src[i : i+1]})
			i++
		case c == '"':
			text, n, err := scanQuoted(src[i+1:])
			if err != nil {
				return nil, err
			}
			toks = append(toks, filterToken{text: text, quoted: true})
			i += 1 + n
		default:
			j := i
			for j < len(src) && !strings.ContainsRune(" \t\r\n()\"", rune(src[j])) {
				j++
			}
			toks = append(toks, filterToken{text: src[i:j]})
			i = j
		}
	}
	return toks, nil
}

// scanQuoted reads a quoted string's content after its opening quote, a
// backslash escaping the next byte, and returns the unescaped text and
// the number of bytes read, closing quote included.
func scanQuoted(src string) (string, int, error) {
	var b strings.Builder
	for i := 0; i < len(src); {
		switch {
		case src[i] == '\\' && i+1 < len(src):
			b.WriteByte(src[i+1])
			i += 2
		case src[i] == '"':
			return b.String(), i + 1, nil
		default:
			b.WriteByte(src[i])
			i++
		}
	}
	return "", 0, errBadFilter
}

// keyword reports whether the next token is the unquoted word w, and
// consumes it if so.
func (p *filterParser) keyword(w string) bool {
	if p.pos < len(p.toks) && !p.toks[p.pos].quoted && strings.EqualFold(p.toks[p.pos].text, w) {
		p.pos++
		return true
	}
	return false
}

func (p *filterParser) next() (filterToken, bool) {
	if p.pos >= len(p.toks) {
		return filterToken{}, false
	}
	p.pos++
	return p.toks[p.pos-1], true
}

func (p *filterParser) or() (predicate, error) {
	left, err := p.and()
	for err == nil && p.keyword("or") {
		var right predicate
		if right, err = p.and(); err == nil {
			l := left
			left = func(get func(string) any) bool { return l(get) || right(get) }
		}
	}
	return left, err
}

func (p *filterParser) and() (predicate, error) {
	left, err := p.unary()
	for err == nil && p.keyword("and") {
		var right predicate
		if right, err = p.unary(); err == nil {
			l := left
			left = func(get func(string) any) bool { return l(get) && right(get) }
		}
	}
	return left, err
}

func (p *filterParser) unary() (predicate, error) {
	if p.keyword("not") {
		inner, err := p.unary()
		if err != nil {
			return nil, err
		}
		return func(get func(string) any) bool { return !inner(get) }, nil
	}
	if p.keyword("(") {
		inner, err := p.or()
		if err != nil || !p.keyword(")") {
			return nil, errBadFilter
		}
		return inner, nil
	}
	return p.comparison()
}

// comparison parses attr op value, or attr pr.
func (p *filterParser) comparison() (predicate, error) {
	attr, ok1 := p.next()
	op, ok2 := p.next()
	if !ok1 || !ok2 || attr.quoted || op.quoted {
		return nil, errBadFilter
	}
	kind, known := p.attrs[attr.text]
	if !known {
		return nil, errBadFilter
	}
	name, opName := attr.text, strings.ToLower(op.text)
	if opName == "pr" {
		return func(get func(string) any) bool {
			switch v := get(name).(type) {
			case string:
				return v != ""
			case time.Time:
				return !v.IsZero()
			}
			return false
		}, nil
	}
	val, ok := p.next()
	if !ok {
		return nil, errBadFilter
	}
	if kind == attrTime {
		return timeComparison(name, opName, val)
	}
	return stringComparison(name, opName, val)
}

// timeComparison compiles a comparison of a timestamp attribute.
func timeComparison(name, op string, val filterToken) (predicate, error) {
	t, err := time.Parse(time.RFC3339Nano, val.text)
	if !val.quoted || err != nil {
		return nil, errBadFilter
	}
	var cmp func(c int) bool
	switch op {
	case "eq":
		cmp = func(c int) bool { return c == 0 }
	case "ne":
		cmp = func(c int) bool { return c != 0 }
	case "gt":
		cmp = func(c int) bool { return c > 0 }
	case "ge":
		cmp = func(c int) bool { return c >= 0 }
	case "lt":
		cmp = func(c int) bool { return c < 0 }
	case "le":
		cmp = func(c int) bool { return c <= 0 }
	default:
		return nil, errBadFilter
	}
	return func(get func(string) any) bool {
		v, _ := get(name).(time.Time)
		return !v.IsZero() && cmp(v.Compare(t))
	}, nil
}

// stringComparison compiles a case-insensitive comparison of a string
// attribute.
func stringComparison(name, op string, val filterToken) (predicate, error) {
	want := strings.ToLower(val.text)
	var cmp func(v string) bool
	switch op {
	case "eq":
		cmp = func(v string) bool { return v == want }
	case "ne":
		cmp = func(v string) bool { return v != want }
	case "sw":
		cmp = func(v string) bool { return strings.HasPrefix(v, want) }
	case "co":
		cmp = func(v string) bool { return strings.Contains(v, want) }
	case "gt":
		cmp = func(v string) bool { return v > want }
	case "ge":
		cmp = func(v string) bool { return v >= want }
	case "lt":
		cmp = func(v string) bool { return v < want }
	case "le":
		cmp = func(v string) bool { return v <= want }
	default:
		return nil, errBadFilter
	}
	if !val.quoted {
		return nil, errBadFilter
	}
	return func(get func(string) any) bool {
		v, _ := get(name).(string)
		return cmp(strings.ToLower(v))
	}, nil
}
