/* gc_dump_heap writes the heap as a V8 heap snapshot and as Graphviz DOT:
 * every live tracked object and the untracked objects they reference; the
 * synthetic root "(held from outside)" has an edge to each object held from
 * outside; fields are element edges, payload references internal edges, a
 * weakref's target a weak edge. Checked here on the exact text of a small
 * heap; tests/heapsnapshot/check.sh loads a snapshot with memlab. */
#include "introspect.h"

static const GcType Graph = {"Graph", one_ref_traverse, one_ref_clear, NULL, NULL};
static const GcType Node = {"Node", NULL, NULL, NULL, NULL};

static void check_has(const char *text, const char *part) {
  if (!strstr(text, part)) {
    fprintf(stderr, "missing: %s\n--- file:\n%s", part, text);
    exit(1);
  }
}

static void temp_path(char *path, size_t size, const char *suffix) {
  snprintf(path, size, "/tmp/rcgc-dump-XXXXXX%s", suffix);
  int fd = mkstemps(path, (int)strlen(suffix));
  CHECK(fd >= 0);
  close(fd);
}

int main(void) {
  gc_disable();
  GcObject *g = obj_new_typed(&Graph, 2, sizeof(OneRef)); /* 56 -> 64 bytes */
  GcObject *n1 = obj_new_typed(&Node, 1, 0), *n2 = obj_new_typed(&Node, 1, 0);
  GcObject *n3 = obj_new_typed(&Node, 1, 0);
  GcObject *wr = weakref_new(n2, NULL, NULL);
  GcObject *leaf = obj_new(0, 8);   /* untracked, referenced: dumped */
  GcObject *alone = obj_new(0, 8);  /* untracked, unreferenced: not dumped */
  obj_set_field(g, 0, n1);
  obj_set_field(g, 1, leaf);
  obj_set_field(n1, 0, n2);
  obj_set_field(n2, 0, n1);
  ((OneRef *)obj_payload(g))->ref = n3; /* our reference moves there */
  obj_decref(n1);
  obj_decref(n2);
  obj_decref(leaf);
  /* Nodes: 0 root, 1 (held from outside), 2 g, 3 n1, 4 n2, 5 n3, 6 wr,
   * 7 leaf. Strings: "", "(held from outside)", Graph, Node, (weakref),
   * (object), payload, target. */
  char path[64];
  temp_path(path, sizeof path, ".heapsnapshot");
  CHECK_EQ(gc_dump_heap(path, GC_DUMP_HEAPSNAPSHOT), GC_OK);
  char *text = read_file(path);
  check_has(text, "{\"snapshot\":{\"meta\":{\"node_fields\":[\"type\",\"name\",\"id\",\"self_size\","
                  "\"edge_count\",\"trace_node_id\",\"detachedness\"]");
  check_has(text, "\"node_count\":8,\"edge_count\":9,");
  check_has(text, "\"nodes\":[9,0,1,0,1,0,0,\n9,1,3,0,2,0,0,\n3,2,5,64,3,0,0,\n"
                  "3,3,7,48,1,0,0,\n3,3,9,48,1,0,0,\n3,3,11,48,0,0,0,\n"
                  "3,4,13,96,1,0,0,\n3,5,15,48,0,0,0],");
  /* In node order: root, (held from outside), g (fields 0 and 1, payload),
   * n1, n2, wr (weak); to_node is the node's index times 7 fields. */
  check_has(text, "\"edges\":[1,0,7,\n1,0,14,\n1,1,42,\n1,0,21,\n1,1,49,\n3,6,35,\n"
                  "1,0,28,\n1,0,21,\n6,7,28],");
  check_has(text, "\"strings\":[\"\",\n\"(held from outside)\",\n\"Graph\",\n\"Node\",\n"
                  "\"(weakref)\",\n\"(object)\",\n\"payload\",\n\"target\"]}\n");
  free(text);
  remove(path);

  temp_path(path, sizeof path, ".dot");
  CHECK_EQ(gc_dump_heap(path, GC_DUMP_DOT), GC_OK);
  text = read_file(path);
  check_has(text, "digraph rcgc {\n");
  check_has(text, "  n1 [label=\"(held from outside)\", shape=ellipse];\n");
  check_has(text, "  n2 [label=\"Graph\\n#2, 64 B\"];\n");
  check_has(text, "  n1 -> n2;\n  n1 -> n6;\n");
  check_has(text, "  n2 -> n3 [label=\"0\"];\n  n2 -> n7 [label=\"1\"];\n");
  check_has(text, "  n2 -> n5 [label=\"payload\", style=dashed];\n");
  check_has(text, "  n6 -> n4 [label=\"weak\", style=dotted, arrowhead=empty];\n");
  CHECK(strstr(text, "n8") == NULL); /* `alone` is not in the dump */
  free(text);
  remove(path);

  CHECK_EQ(gc_dump_heap(NULL, GC_DUMP_DOT), GC_ERR_NULL);
  CHECK_ERR(GC_ERR_NULL);
  CHECK_EQ(gc_dump_heap(path, (GcDumpFormat)2), GC_ERR_INVALID);
  CHECK_ERR(GC_ERR_INVALID);
  CHECK_EQ(gc_dump_heap(path, (GcDumpFormat)-1), GC_ERR_INVALID);
  CHECK_EQ(gc_dump_heap("/nonexistent-rcgc-dir/heap.json", GC_DUMP_HEAPSNAPSHOT), GC_ERR_IO);
  CHECK_ERR(GC_ERR_IO);

  obj_decref(wr);
  obj_decref(g);
  obj_decref(alone);
  CHECK_EQ(gc_collect(), 2); /* n1 <-> n2 */
  printf("gc_dump_heap_formats: ok\n");
  return 0;
}
