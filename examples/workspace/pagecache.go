package main

import (
	"strconv"
	"sync"
)

// pageCache keeps rendered pages by everything they show, so a person
// reloading a page gets the bytes rendered the last time instead of a new
// html/template run (about 30 µs for the workspace page; a hit is a map
// lookup). A page is a pure function of its data: the page's name, the
// signed-in user's fields that the templates print, and, for the
// workspace, the accounts' version (accountStore bumps it on every
// change). pageKey spells that out, and TestPageKeyCoversRenderedFields
// fails when a template prints a field the key leaves out.
//
// It holds at most max pages; a random one is evicted to make room. Safe
// for concurrent use; a nil *pageCache caches nothing.
type pageCache struct {
	max   int
	mu    sync.RWMutex
	pages map[string][]byte
}

// defaultPageCacheSize bounds the cache at about 5 MB of 5 kB pages.
const defaultPageCacheSize = 1024

func newPageCache(max int) *pageCache {
	if max <= 0 {
		return nil
	}
	return &pageCache{max: max, pages: make(map[string][]byte)}
}

// get returns the page rendered for key, or nil. The bytes are shared:
// write them, never modify them.
func (c *pageCache) get(key string) []byte {
	if c == nil {
		return nil
	}
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.pages[key]
}

// put keeps page for key; page must not be modified afterwards.
func (c *pageCache) put(key string, page []byte) {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.pages[key]; !ok && len(c.pages) >= c.max {
		for k := range c.pages { // map order: a random victim
			delete(c.pages, k)
			break
		}
	}
	c.pages[key] = page
}

// pageKey names a page and the data it shows. Accounts are keyed by
// accountsVersion, which the caller reads together with them.
func pageKey(name string, d pageData, accountsVersion uint64) string {
	k := make(keyBuilder, 0, 256)
	k.str(name)
	k.str(d.Title)
	k.str(string(d.LoginButton))
	k.str(d.Provider)
	k.num(int64(accountsVersion))
	k.flag(d.User != nil)
	if u := d.User; u != nil {
		// The fields of u that the templates print.
		k.str(u.Issuer)
		k.str(u.Subject)
		k.str(u.Name)
		k.str(u.Email)
		k.flag(u.EmailVerified)
		k.str(u.Username)
		k.flag(u.Internal)
		k.str(u.LocalID)
		k.flag(u.AuthTime.IsZero())
		k.num(u.AuthTime.UnixNano())
		k.num(int64(len(u.Groups)))
		for _, g := range u.Groups {
			k.str(g)
		}
	}
	return string(k)
}

// keyBuilder writes every value with its length or a terminator, so no two
// different sequences of values give the same key.
type keyBuilder []byte

func (k *keyBuilder) str(s string) {
	*k = append(append(strconv.AppendInt(*k, int64(len(s)), 10), ':'), s...)
}

func (k *keyBuilder) num(n int64) { *k = append(strconv.AppendInt(*k, n, 10), ';') }

func (k *keyBuilder) flag(v bool) {
	if v {
		*k = append(*k, 'T')
	} else {
		*k = append(*k, 'F')
	}
}
