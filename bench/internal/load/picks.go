package load

import (
	"encoding/json"
	"slices"
	"strings"
)

// FindPicks looks through a JSON document (such as the gateway's
// /admin/api/services) for the object that describes one node, and returns
// its pick counter. The node's object is one with a string field equal to
// node (its id or address); the counter is a field of that object, or of an
// object directly inside it, whose name contains "pick" (case-insensitive;
// "picks" itself is preferred): a number, or an object of numbers such as
// microlb's picks per strategy, which are added up. Tolerating any layout
// keeps the harness working while the admin API's shape settles.
func FindPicks(doc []byte, node string) (int64, bool) {
	var v any
	if err := json.Unmarshal(doc, &v); err != nil {
		return 0, false
	}
	return findPicks(v, node)
}

func findPicks(v any, node string) (int64, bool) {
	switch t := v.(type) {
	case map[string]any:
		if mentions(t, node) {
			if n, ok := pickField(t); ok {
				return n, true
			}
			for _, k := range sortedKeys(t) {
				if m, ok := t[k].(map[string]any); ok {
					if n, ok := pickField(m); ok {
						return n, true
					}
				}
			}
		}
		for _, k := range sortedKeys(t) {
			if n, ok := findPicks(t[k], node); ok {
				return n, true
			}
		}
	case []any:
		for _, x := range t {
			if n, ok := findPicks(x, node); ok {
				return n, true
			}
		}
	}
	return 0, false
}

// pickField returns m's "picks" field, else its first field (in key order)
// whose name contains "pick". The field is a number, or an object of
// numbers (picks per strategy), which are added up.
func pickField(m map[string]any) (int64, bool) {
	if n, ok := count(m["picks"]); ok {
		return n, true
	}
	for _, k := range sortedKeys(m) {
		if strings.Contains(strings.ToLower(k), "pick") {
			if n, ok := count(m[k]); ok {
				return n, true
			}
		}
	}
	return 0, false
}

// count returns a number, or the sum of an object's numbers.
func count(v any) (int64, bool) {
	switch t := v.(type) {
	case float64:
		return int64(t), true
	case map[string]any:
		var sum int64
		found := false
		for _, x := range t {
			if n, ok := x.(float64); ok {
				sum, found = sum+int64(n), true
			}
		}
		return sum, found
	}
	return 0, false
}

// mentions reports whether m has a string field equal to node.
func mentions(m map[string]any, node string) bool {
	for _, x := range m {
		if s, ok := x.(string); ok && s == node {
			return true
		}
	}
	return false
}

func sortedKeys(m map[string]any) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}
