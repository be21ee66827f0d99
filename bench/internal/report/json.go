package report

import (
	"encoding/json"
	"io"
	"math"
	"reflect"
	"time"
)

// JSON writes r as indented JSON, for tools and later comparisons. Ratios
// that could not be computed (NaN) are written as null; durations are in
// nanoseconds.
func JSON(w io.Writer, r *Results) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(plain(reflect.ValueOf(r)))
}

var timeType = reflect.TypeOf(time.Time{})

// plain converts v into maps, slices and scalars that encoding/json accepts,
// with NaN and ±Inf as nil.
func plain(v reflect.Value) any {
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		if v.IsNil() {
			return nil
		}
		return plain(v.Elem())
	case reflect.Float32, reflect.Float64:
		f := v.Float()
		if math.IsNaN(f) || math.IsInf(f, 0) {
			return nil
		}
		return f
	case reflect.Struct:
		if v.Type() == timeType {
			return v.Interface()
		}
		m := map[string]any{}
		for i := range v.NumField() {
			if f := v.Type().Field(i); f.IsExported() {
				m[f.Name] = plain(v.Field(i))
			}
		}
		return m
	case reflect.Slice, reflect.Array:
		s := make([]any, v.Len())
		for i := range s {
			s[i] = plain(v.Index(i))
		}
		return s
	case reflect.Map:
		m := map[string]any{}
		for _, k := range v.MapKeys() {
			m[k.String()] = plain(v.MapIndex(k))
		}
		return m
	default:
		return v.Interface()
	}
}
