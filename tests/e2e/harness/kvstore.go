package harness

import (
	"database/sql"
	"errors"
	"testing"
	"time"
)

// The plugin KV store is the pluginkeyvaluestore table (columns pluginid,
// pkey, pvalue, expireat) in the server's schema migrations. expireat is in
// Unix milliseconds, and 0 means the entry never expires. Like the server's
// own reads, these helpers skip expired entries that are not deleted yet.

// KVValue returns the stored value of a plugin's key, and false when the key
// is missing or expired.
func (mm *Mattermost) KVValue(t testing.TB, pluginID, key string) ([]byte, bool) {
	t.Helper()

	var value []byte
	err := mm.Postgres.DB().QueryRow(
		`SELECT pvalue FROM pluginkeyvaluestore
		 WHERE pluginid = $1 AND pkey = $2 AND (expireat = 0 OR expireat > $3)`,
		pluginID, key, time.Now().UnixMilli(),
	).Scan(&value)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, false
	}
	if err != nil {
		t.Fatalf("read KV key %q of plugin %s: %v", key, pluginID, err)
	}
	return value, true
}

// KVKeys returns a plugin's unexpired keys that start with prefix, sorted.
// An empty prefix returns all keys.
func (mm *Mattermost) KVKeys(t testing.TB, pluginID, prefix string) []string {
	t.Helper()

	rows, err := mm.Postgres.DB().Query(
		`SELECT pkey FROM pluginkeyvaluestore
		 WHERE pluginid = $1 AND left(pkey, length($2)) = $2 AND (expireat = 0 OR expireat > $3)
		 ORDER BY pkey`,
		pluginID, prefix, time.Now().UnixMilli(),
	)
	if err != nil {
		t.Fatalf("list KV keys of plugin %s with prefix %q: %v", pluginID, prefix, err)
	}
	defer rows.Close()

	keys := []string{}
	for rows.Next() {
		var key string
		if err := rows.Scan(&key); err != nil {
			t.Fatalf("read KV key of plugin %s: %v", pluginID, err)
		}
		keys = append(keys, key)
	}
	if err := rows.Err(); err != nil {
		t.Fatalf("list KV keys of plugin %s: %v", pluginID, err)
	}
	return keys
}
