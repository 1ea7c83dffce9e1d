package pengine

import (
	"reflect"
	"testing"
)

// TestGHashOrder checks the GHashTable iteration model against orders
// taken from GLib 2.74 (g_hash_table_foreach after inserting the keys in
// the given order), including a table that grew past 8 slots.
func TestGHashOrder(t *testing.T) {
	cases := []struct {
		in, want []string
		caseless bool
	}{
		{[]string{"fake", "passwd"}, []string{"fake", "passwd"}, false},
		{[]string{"passwd", "fake"}, []string{"passwd", "fake"}, false},
		{[]string{"fake", "passwd", "zzz"}, []string{"zzz", "fake", "passwd"}, false},
		{[]string{"a", "b", "c", "d", "e", "f", "g", "h", "i", "j"}, []string{"b", "h", "a", "g", "f", "e", "d", "j", "c", "i"}, false},
		// pcmk__strcase_hash tables (a resource's parameters): Pacemaker
		// 2.1.5 writes these digests' parameters in this order.
		{[]string{"fake", "passwd", "zzz"}, []string{"passwd", "zzz", "fake"}, true},
		{[]string{"fake", "passwd", "zz"}, []string{"passwd", "fake", "zz"}, true},
	}
	for _, c := range cases {
		var in []Param
		for _, k := range c.in {
			in = append(in, Param{Name: k})
		}
		var got []string
		for _, p := range gHashOrder(in, c.caseless) {
			got = append(got, p.Name)
		}
		if !reflect.DeepEqual(got, c.want) {
			t.Errorf("gHashOrder(%v, caseless=%v) = %v, want %v", c.in, c.caseless, got, c.want)
		}
	}
}
