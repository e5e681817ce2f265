// Package redisstore is a store.Store on Redis, for applications that run
// several instances behind a load balancer: sessions, revocations, the
// logout index and refresh locks are shared by all of them.
//
//	rdb := redis.NewClient(&redis.Options{Addr: "localhost:6379"})
//	cfg.Store = redisstore.New(rdb, "myapp:")
//
// It is a module of its own (go get github.com/oktasso/oktasso/redisstore),
// so that applications that do not use Redis neither compile nor download
// its client.
package redisstore

import (
	"context"
	"errors"
	"time"

	"github.com/oktasso/oktasso/store"
	"github.com/redis/go-redis/v9"
)

// Store implements store.Store, store.SetStore, store.LockStore and store.MultiGetStore on
// a Redis client (a single server, Sentinel or Cluster). Safe for
// concurrent use.
type Store struct {
	rdb    redis.UniversalClient
	prefix string
}

// New returns a Store that keeps its keys under prefix (e.g. "myapp:") in
// rdb.
func New(rdb redis.UniversalClient, prefix string) *Store {
	return &Store{rdb: rdb, prefix: prefix}
}

var (
	_ store.SetStore      = (*Store)(nil)
	_ store.LockStore     = (*Store)(nil)
	_ store.MultiGetStore = (*Store)(nil)
)

// Get implements store.Store.
func (s *Store) Get(ctx context.Context, key string) ([]byte, error) {
	b, err := s.rdb.Get(ctx, s.prefix+key).Bytes()
	if errors.Is(err, redis.Nil) {
		return nil, store.ErrNotFound
	}
	return b, err
}

// GetMulti implements store.MultiGetStore: the GETs go in one pipeline,
// one round trip (one GET per key keeps Redis Cluster happy).
func (s *Store) GetMulti(ctx context.Context, keys []string, values [][]byte) error {
	if len(values) != len(keys) {
		return errors.New("redisstore: GetMulti with as many values as keys")
	}
	pipe := s.rdb.Pipeline()
	cmds := make([]*redis.StringCmd, len(keys))
	for i, k := range keys {
		cmds[i] = pipe.Get(ctx, s.prefix+k)
	}
	if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
		return err
	}
	for i, c := range cmds {
		b, err := c.Bytes()
		switch {
		case errors.Is(err, redis.Nil):
			values[i] = nil
		case err != nil:
			return err
		default:
			values[i] = b
		}
	}
	return nil
}

// Set implements store.Store.
func (s *Store) Set(ctx context.Context, key string, value []byte, ttl time.Duration) error {
	if ttl <= 0 {
		return errors.New("redisstore: Set with a ttl that is not positive")
	}
	return s.rdb.Set(ctx, s.prefix+key, value, ttl).Err()
}

// Delete implements store.Store.
func (s *Store) Delete(ctx context.Context, keys ...string) error {
	if len(keys) == 0 {
		return nil
	}
	full := make([]string, len(keys))
	for i, k := range keys {
		full[i] = s.prefix + k
	}
	// One DEL per key keeps Redis Cluster happy (keys may be on different slots).
	pipe := s.rdb.Pipeline()
	for _, k := range full {
		pipe.Del(ctx, k)
	}
	_, err := pipe.Exec(ctx)
	return err
}

// extendTTL sets the key's expiry to ttl unless it already lasts longer.
var extendTTL = redis.NewScript(`
local ttl = redis.call('PTTL', KEYS[1])
if ttl < tonumber(ARGV[1]) then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
return 1`)

// AddToSet implements store.SetStore.
func (s *Store) AddToSet(ctx context.Context, key, member string, ttl time.Duration) error {
	if ttl <= 0 {
		return errors.New("redisstore: AddToSet with a ttl that is not positive")
	}
	k := s.prefix + key
	if err := s.rdb.SAdd(ctx, k, member).Err(); err != nil {
		return err
	}
	return extendTTL.Run(ctx, s.rdb, []string{k}, ttl.Milliseconds()).Err()
}

// Members implements store.SetStore.
func (s *Store) Members(ctx context.Context, key string) ([]string, error) {
	return s.rdb.SMembers(ctx, s.prefix+key).Result()
}

// TryLock implements store.LockStore with SET NX PX.
func (s *Store) TryLock(ctx context.Context, key, token string, ttl time.Duration) (bool, error) {
	return s.rdb.SetNX(ctx, s.prefix+key, token, ttl).Result()
}

// unlock deletes the lock only if token still holds it.
var unlock = redis.NewScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0`)

// Unlock implements store.LockStore.
func (s *Store) Unlock(ctx context.Context, key, token string) error {
	return unlock.Run(ctx, s.rdb, []string{s.prefix + key}, token).Err()
}
