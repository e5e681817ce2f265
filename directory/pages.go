package directory

import (
	"context"
	"encoding/json"
	"fmt"
	"iter"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// minPage is the smallest page asked for after repeated 5xx answers.
const minPage = 20

// UpdatedSince returns the filter of users or groups whose profile (or,
// for users, status) changed after t: lastUpdated gt "…".
func UpdatedSince(t time.Time) string {
	return `lastUpdated gt "` + oktaTime(t) + `"`
}

// oktaTime formats t as Okta does: UTC, milliseconds, "Z".
func oktaTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }

// listURL returns the first page's URL of the listing at path.
func (c *Client) listURL(path string, max int, q url.Values) string {
	if q == nil {
		q = url.Values{}
	}
	limit := max
	if c.pageSize > 0 && c.pageSize < max {
		limit = c.pageSize
	}
	q.Set("limit", strconv.Itoa(limit))
	return c.base + path + "?" + q.Encode()
}

// listPages reads the listing starting at start (a first-page URL from
// listURL, or a next URL saved earlier) page by page, calling fn with each
// page's objects and the next page's URL ("" after the last page). It
// follows only Link rel="next" headers on the org and never builds a
// cursor. After two 5xx answers in a row for a page, it asks for half the
// page size, down to minPage. fn returning errStop ends it without error.
func listPages[W any](ctx context.Context, c *Client, start string, fn func(items []W, next string) error) error {
	u, err := url.Parse(start)
	if err != nil || !c.sameOrigin(u) {
		return fmt.Errorf("directory: %q is not a listing URL of the org %s", withoutQuery(u), c.base)
	}
	for u != nil {
		cur := u
		resp, body, err := c.get(ctx, maxPageBytes, func(fails int) *url.URL { return shrinkPage(cur, fails) })
		if err != nil {
			return err
		}
		var items []W
		if err := json.Unmarshal(body, &items); err != nil {
			return fmt.Errorf("directory: %s: the answer is not a JSON array: %w", withoutQuery(cur), err)
		}
		next := nextLink(resp.Header)
		u = nil
		if next != "" {
			if u, err = url.Parse(next); err != nil || !c.sameOrigin(u) {
				return fmt.Errorf("directory: %s: Link rel=\"next\" %q is not on the org", withoutQuery(cur), next)
			}
		}
		if err := fn(items, next); err != nil {
			if err == errStop {
				return nil
			}
			return err
		}
	}
	return nil
}

// shrinkPage returns u, or after two or more 5xx answers (fails) a copy
// asking for a smaller page: half per failure beyond the first.
func shrinkPage(u *url.URL, fails int) *url.URL {
	if fails < 2 {
		return u
	}
	q := u.Query()
	limit, err := strconv.Atoi(q.Get("limit"))
	if err != nil || limit <= minPage {
		return u
	}
	q.Set("limit", strconv.Itoa(max(limit>>(fails-1), minPage)))
	v := *u
	v.RawQuery = q.Encode()
	return &v
}

// nextLink returns the URL of the Link rel="next" of h, or "". Okta sends
// one header per link, or (through some proxies) one comma-joined header.
func nextLink(h http.Header) string {
	for _, v := range h.Values("Link") {
		for v != "" {
			start := strings.IndexByte(v, '<')
			end := strings.IndexByte(v, '>')
			if start < 0 || end < start {
				break
			}
			target := v[start+1 : end]
			params := v[end+1:]
			if i := strings.Index(params, ",<"); i >= 0 {
				params, v = params[:i], params[i+1:]
			} else if i := strings.Index(params, ", <"); i >= 0 {
				params, v = params[:i], params[i+2:]
			} else {
				v = ""
			}
			for _, p := range strings.Split(params, ";") {
				k, val, _ := strings.Cut(strings.TrimSpace(p), "=")
				if strings.EqualFold(k, "rel") && strings.EqualFold(strings.Trim(val, `"`), "next") {
					return target
				}
			}
		}
	}
	return ""
}

// seq turns a listing into an iterator of converted objects.
func seq[W, T any](ctx context.Context, c *Client, start string, conv func(*W) T) iter.Seq2[T, error] {
	return func(yield func(T, error) bool) {
		err := listPages(ctx, c, start, func(items []W, _ string) error {
			for i := range items {
				if !yield(conv(&items[i]), nil) {
					return errStop
				}
			}
			return nil
		})
		if err != nil {
			var zero T
			yield(zero, err)
		}
	}
}

// Users lists the org's users, one page of up to 200 in memory at a time.
// filter is an Okta filter expression such as UpdatedSince(t) or
// `status eq "DEPROVISIONED"`; "" lists every user but DEPROVISIONED ones,
// as Okta does. An error ends the sequence.
func (c *Client) Users(ctx context.Context, filter string) iter.Seq2[User, error] {
	return seq(ctx, c, c.listURL("/api/v1/users", maxPageUsers, filterQuery(filter)), (*User).fromAPI)
}

// Groups lists the org's groups, one page at a time; filter is as for
// Users (e.g. `lastMembershipUpdated gt "…"`), "" for every group.
func (c *Client) Groups(ctx context.Context, filter string) iter.Seq2[Group, error] {
	return seq(ctx, c, c.listURL("/api/v1/groups", maxPageUsers, filterQuery(filter)), (*apiGroup).group)
}

// GroupMembers lists the members of a group, of every status, one page of
// up to 1000 at a time.
func (c *Client) GroupMembers(ctx context.Context, groupID string) iter.Seq2[User, error] {
	return seq(ctx, c, c.membersURL(groupID), (*User).fromAPI)
}

func (c *Client) membersURL(groupID string) string {
	return c.listURL("/api/v1/groups/"+url.PathEscape(groupID)+"/users", maxPageMembers, nil)
}

// UserGroups returns the names (profile.name) of the groups of the user
// with the given id (or login), Everyone included, reading every page of
// /api/v1/users/{id}/groups. Use it when a sign-in's groups claim cannot
// carry them all (Okta fails a claim over 100 groups). It is safe for
// concurrent use and shares the client's token, rate limits and retries.
func (c *Client) UserGroups(ctx context.Context, userID string) ([]string, error) {
	if userID == "" {
		return nil, fmt.Errorf("directory: UserGroups: empty user id")
	}
	var names []string
	start := c.listURL("/api/v1/users/"+url.PathEscape(userID)+"/groups", maxPageUsers, nil)
	err := listPages(ctx, c, start, func(items []apiGroup, _ string) error {
		for i := range items {
			names = append(names, items[i].Profile.Name)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return names, nil
}

func filterQuery(filter string) url.Values {
	if filter == "" {
		return nil
	}
	return url.Values{"filter": {filter}}
}
