/* Wire identity of our protocol definitions with containerd's.
 *
 * For every message, enum and service protoc-c generated from proto/ (all of them, listed by
 * list-descriptors.sh), except the agent API that only we speak:
 *  - schema: containerd's definition (protoc's descriptors of its .proto files) has the same
 *    full name, and every field the same number, name, type, label and message/enum type;
 *    enums the same values, services the same methods with the same request/reply types;
 *  - completeness: where we take over a whole containerd file, we define all of its messages;
 *  - wire, ours -> containerd: a message with every field set, packed by our generated code,
 *    decodes with containerd's definitions (protoc --decode) to the same text as with ours;
 *  - wire, containerd -> ours: that text encoded with containerd's definitions (protoc --encode)
 *    gives exactly our bytes, and our code unpacks it with no unknown field and packs it back
 *    to the same bytes.
 * Without protoc or containerd's sources the test skips (exit 77), except in CI.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "all-descriptors.h"
#include "message-fill.h"
#include "proto-oracle.h"
#include "test-util.h"

/* Deep enough for the longest chain of message fields (ForwardRequest.envelope.event). */
#define FILL_DEPTH 4

/* Created in main() before Check forks the tests. */
static char *workdir;

typedef Google__Protobuf__DescriptorProto TheirMessage;
typedef Google__Protobuf__FieldDescriptorProto TheirField;
typedef Google__Protobuf__EnumDescriptorProto TheirEnum;
typedef Google__Protobuf__ServiceDescriptorProto TheirService;

/* containerd's descriptors for @package, or NULL for a package only we have; fails the test
 * when a package of ours has no counterpart or protoc fails. */
static Google__Protobuf__FileDescriptorSet *their_descriptors(const char *package)
{
    if (proto_oracle_is_ours_only(package))
        return NULL;
    ck_assert_msg(proto_oracle_find(package),
                  "package '%s' has no containerd counterpart listed in proto-oracle.c", package);
    g_autoptr(GError) error = NULL;
    Google__Protobuf__FileDescriptorSet *set = proto_oracle_descriptors(workdir, package, &error);
    ck_assert_msg(set, "%s", error ? error->message : "");
    return set;
}

/* The message @full_name among @messages (or nested in them), whose names are @scope + "." + name.
 */
static const TheirMessage *find_message_in(TheirMessage *const *messages, size_t n,
                                           const char *scope, const char *full_name)
{
    for (size_t i = 0; i < n; i++) {
        g_autofree char *name = g_strconcat(scope, ".", messages[i]->name, NULL);
        if (g_str_equal(name, full_name))
            return messages[i];
        if (g_str_has_prefix(full_name, name) && full_name[strlen(name)] == '.') {
            const TheirMessage *nested = find_message_in(
                messages[i]->nested_type, messages[i]->n_nested_type, name, full_name);
            if (nested)
                return nested;
        }
    }
    return NULL;
}

static const TheirMessage *find_message(const Google__Protobuf__FileDescriptorSet *set,
                                        const char *full_name)
{
    for (size_t i = 0; i < set->n_file; i++) {
        const TheirMessage *found =
            find_message_in(set->file[i]->message_type, set->file[i]->n_message_type,
                            set->file[i]->package, full_name);
        if (found)
            return found;
    }
    return NULL;
}

static const TheirEnum *find_enum_named(TheirEnum *const *enums, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++) {
        if (g_str_equal(enums[i]->name, name))
            return enums[i];
    }
    return NULL;
}

static const TheirEnum *find_enum(const Google__Protobuf__FileDescriptorSet *set,
                                  const char *full_name)
{
    g_autofree char *scope = g_strdup(full_name);
    char *dot = strrchr(scope, '.');
    ck_assert_ptr_nonnull(dot);
    *dot = '\0';
    const char *name = dot + 1;

    const TheirMessage *parent = find_message(set, scope);
    if (parent)
        return find_enum_named(parent->enum_type, parent->n_enum_type, name);
    for (size_t i = 0; i < set->n_file; i++) {
        const Google__Protobuf__FileDescriptorProto *file = set->file[i];
        const TheirEnum *found = g_str_equal(file->package, scope)
                                     ? find_enum_named(file->enum_type, file->n_enum_type, name)
                                     : NULL;
        if (found)
            return found;
    }
    return NULL;
}

static const TheirService *find_service(const Google__Protobuf__FileDescriptorSet *set,
                                        const char *full_name)
{
    for (size_t i = 0; i < set->n_file; i++) {
        const Google__Protobuf__FileDescriptorProto *file = set->file[i];
        for (size_t j = 0; j < file->n_service; j++) {
            g_autofree char *name = g_strconcat(file->package, ".", file->service[j]->name, NULL);
            if (g_str_equal(name, full_name))
                return file->service[j];
        }
    }
    return NULL;
}

/* descriptor.proto's field type for a protobuf-c type. */
static Google__Protobuf__FieldDescriptorProto__Type their_type(ProtobufCType type)
{
    static const Google__Protobuf__FieldDescriptorProto__Type types[] = {
        [PROTOBUF_C_TYPE_INT32] = GOOGLE__PROTOBUF__FIELD_DESCRIPTOR_PROTO__TYPE__TYPE_INT32,
        [PROTOBUF_C_TYPE_SINT32] = GOOGLE__PROTOBUF__FIELD_DESCRIPTOR_PROTO__TYPE__TYPE_SINT32,
        [PROTOBUF_C_TYPE_SFIXED32] = GOOGLE__PROTOBUF__FIELD_DESCRIPTOR_PROTO__TYPE__TYPE_SFIXED32,
        [PROTOBUF_C_TYPE_INT64] = GOOGLE__PROTOBUF__FIELD_DESCRIPTOR_PROTO__TYPE__TYPE_INT64,
        [PROTOBUF_C_TYPE_SINT64] = GOOGLE__PROTOBUF__FIELD_DESCRIPTOR_PROTO__TYPE__TYPE_SINT64,
        [PROTOBUF_C_TYPE_SFIXED64] = GOOGLE__PROTOBUF__FIELD_DESCRIPTOR_PROTO__TYPE__TYPE_SFIXED64,
        [PROTOBUF_C_TYPE_UINT32] = GOOGLE__PROTOBUF__FIELD_DESCRIPTOR_PROTO__TYPE__TYPE_UINT32,
        [PROTOBUF_C_TYPE_FIXED32] = GOOGLE__PROTOBUF__FIELD_DESCRIPTOR_PROTO__TYPE__TYPE_FIXED32,
        [PROTOBUF_C_TYPE_UINT64] = GOOGLE__PROTOBUF__FIELD_DESCRIPTOR_PROTO__TYPE__TYPE_UINT64,
        [PROTOBUF_C_TYPE_FIXED64] = GOOGLE__PROTOBUF__FIELD_DESCRIPTOR_PROTO__TYPE__TYPE_FIXED64,
        [PROTOBUF_C_TYPE_FLOAT] = GOOGLE__PROTOBUF__FIELD_DESCRIPTOR_PROTO__TYPE__TYPE_FLOAT,
        [PROTOBUF_C_TYPE_DOUBLE] = GOOGLE__PROTOBUF__FIELD_DESCRIPTOR_PROTO__TYPE__TYPE_DOUBLE,
        [PROTOBUF_C_TYPE_BOOL] = GOOGLE__PROTOBUF__FIELD_DESCRIPTOR_PROTO__TYPE__TYPE_BOOL,
        [PROTOBUF_C_TYPE_ENUM] = GOOGLE__PROTOBUF__FIELD_DESCRIPTOR_PROTO__TYPE__TYPE_ENUM,
        [PROTOBUF_C_TYPE_STRING] = GOOGLE__PROTOBUF__FIELD_DESCRIPTOR_PROTO__TYPE__TYPE_STRING,
        [PROTOBUF_C_TYPE_BYTES] = GOOGLE__PROTOBUF__FIELD_DESCRIPTOR_PROTO__TYPE__TYPE_BYTES,
        [PROTOBUF_C_TYPE_MESSAGE] = GOOGLE__PROTOBUF__FIELD_DESCRIPTOR_PROTO__TYPE__TYPE_MESSAGE,
    };
    ck_assert_uint_lt(type, G_N_ELEMENTS(types));
    return types[type];
}

static Google__Protobuf__FieldDescriptorProto__Label their_label(ProtobufCLabel label)
{
    switch (label) {
    case PROTOBUF_C_LABEL_REQUIRED:
        return GOOGLE__PROTOBUF__FIELD_DESCRIPTOR_PROTO__LABEL__LABEL_REQUIRED;
    case PROTOBUF_C_LABEL_REPEATED:
        return GOOGLE__PROTOBUF__FIELD_DESCRIPTOR_PROTO__LABEL__LABEL_REPEATED;
    default: /* proto3 singular fields are "optional" in descriptor.proto */
        return GOOGLE__PROTOBUF__FIELD_DESCRIPTOR_PROTO__LABEL__LABEL_OPTIONAL;
    }
}

/* ".full.Name" of a message or enum field's type, "" for scalars (as descriptor.proto). */
static const char *type_name(const ProtobufCFieldDescriptor *field)
{
    if (field->type == PROTOBUF_C_TYPE_MESSAGE)
        return ((const ProtobufCMessageDescriptor *)field->descriptor)->name;
    if (field->type == PROTOBUF_C_TYPE_ENUM)
        return ((const ProtobufCEnumDescriptor *)field->descriptor)->name;
    return NULL;
}

static const TheirField *find_field(const TheirMessage *message, guint32 number)
{
    for (size_t i = 0; i < message->n_field; i++) {
        if (message->field[i]->number == (gint32)number)
            return message->field[i];
    }
    return NULL;
}

static void assert_same_field(const char *message, const ProtobufCFieldDescriptor *ours,
                              const TheirField *theirs)
{
    ck_assert_msg(g_str_equal(ours->name, theirs->name),
                  "%s field %u: ours is named '%s', containerd's '%s'", message, ours->id,
                  ours->name, theirs->name);
    ck_assert_msg(their_type(ours->type) == theirs->type,
                  "%s.%s: type differs (descriptor.proto type %d, containerd's %d)", message,
                  ours->name, their_type(ours->type), theirs->type);
    ck_assert_msg(their_label(ours->label) == theirs->label,
                  "%s.%s: label differs (descriptor.proto label %d, containerd's %d)", message,
                  ours->name, their_label(ours->label), theirs->label);
    const char *ours_type = type_name(ours);
    if (ours_type)
        ck_assert_msg(theirs->type_name && theirs->type_name[0] == '.' &&
                          g_str_equal(theirs->type_name + 1, ours_type),
                      "%s.%s: ours is a '%s', containerd's a '%s'", message, ours->name, ours_type,
                      theirs->type_name);
}

START_TEST(test_message_schema)
{
    const ProtobufCMessageDescriptor *ours = all_message_descriptors[_i];
    g_autoptr(Google__Protobuf__FileDescriptorSet) set = their_descriptors(ours->package_name);
    if (!set)
        return;
    const TheirMessage *theirs = find_message(set, ours->name);
    ck_assert_msg(theirs, "containerd has no message '%s'", ours->name);

    for (unsigned i = 0; i < ours->n_fields; i++) {
        const ProtobufCFieldDescriptor *field = &ours->fields[i];
        ck_assert_msg(!(field->flags & PROTOBUF_C_FIELD_FLAG_ONEOF),
                      "%s.%s: oneof fields are not supported by message-fill.c yet", ours->name,
                      field->name);
        const TheirField *their_field = find_field(theirs, field->id);
        const ProtoNewerField *newer = proto_oracle_newer_field(ours->name, field->id);
        if (!their_field && newer) {
            ck_assert_msg(g_str_equal(field->name, newer->name) && field->type == newer->type,
                          "%s field %u: ours is '%s' of protobuf-c type %d, later containerd's "
                          "'%s' of type %d",
                          ours->name, field->id, field->name, field->type, newer->name,
                          newer->type);
            continue;
        }
        ck_assert_msg(their_field, "%s.%s: containerd has no field number %u", ours->name,
                      field->name, field->id);
        assert_same_field(ours->name, field, their_field);
    }
    for (size_t i = 0; i < theirs->n_field; i++) {
        ck_assert_msg(protobuf_c_message_descriptor_get_field(ours, theirs->field[i]->number),
                      "%s: we lack containerd's field '%s' = %d", ours->name,
                      theirs->field[i]->name, theirs->field[i]->number);
    }
}
END_TEST

START_TEST(test_enum_schema)
{
    const ProtobufCEnumDescriptor *ours = all_enum_descriptors[_i];
    g_autoptr(Google__Protobuf__FileDescriptorSet) set = their_descriptors(ours->package_name);
    if (!set)
        return;
    const TheirEnum *theirs = find_enum(set, ours->name);
    ck_assert_msg(theirs, "containerd has no enum '%s'", ours->name);
    ck_assert_msg(ours->n_values == theirs->n_value, "%s: we have %u values, containerd %zu",
                  ours->name, ours->n_values, theirs->n_value);
    for (size_t i = 0; i < theirs->n_value; i++) {
        const ProtobufCEnumValue *value =
            protobuf_c_enum_descriptor_get_value_by_name(ours, theirs->value[i]->name);
        ck_assert_msg(value, "%s: we lack value '%s'", ours->name, theirs->value[i]->name);
        ck_assert_msg(value->value == theirs->value[i]->number,
                      "%s.%s: ours is %d, containerd's %d", ours->name, value->name, value->value,
                      theirs->value[i]->number);
    }
}
END_TEST

START_TEST(test_service_schema)
{
    const ProtobufCServiceDescriptor *ours = all_service_descriptors[_i];
    g_autoptr(Google__Protobuf__FileDescriptorSet) set = their_descriptors(ours->package);
    if (!set)
        return;
    const TheirService *theirs = find_service(set, ours->name);
    ck_assert_msg(theirs, "containerd has no service '%s'", ours->name);
    ck_assert_msg(ours->n_methods == theirs->n_method, "%s: we have %u methods, containerd %zu",
                  ours->name, ours->n_methods, theirs->n_method);
    for (size_t i = 0; i < theirs->n_method; i++) {
        const Google__Protobuf__MethodDescriptorProto *method = theirs->method[i];
        const ProtobufCMethodDescriptor *our_method =
            protobuf_c_service_descriptor_get_method_by_name(ours, method->name);
        ck_assert_msg(our_method, "%s: we lack method '%s'", ours->name, method->name);
        g_autofree char *input = g_strconcat(".", our_method->input->name, NULL);
        g_autofree char *output = g_strconcat(".", our_method->output->name, NULL);
        ck_assert_msg(g_str_equal(input, method->input_type) &&
                          g_str_equal(output, method->output_type),
                      "%s/%s: ours takes %s and returns %s, containerd's %s and %s", ours->name,
                      method->name, input, output, method->input_type, method->output_type);
    }
}
END_TEST

static gboolean is_ours(const char *full_name)
{
    for (const ProtobufCMessageDescriptor *const *d = all_message_descriptors; *d; d++) {
        if (g_str_equal((*d)->name, full_name))
            return TRUE;
    }
    return FALSE;
}

static void assert_all_ours(TheirMessage *const *messages, size_t n, const char *scope)
{
    for (size_t i = 0; i < n; i++) {
        g_autofree char *name = g_strconcat(scope, ".", messages[i]->name, NULL);
        ck_assert_msg(is_ours(name), "we lack containerd's message '%s'", name);
        assert_all_ours(messages[i]->nested_type, messages[i]->n_nested_type, name);
    }
}

/* Loops over the oracle packages marked complete. */
START_TEST(test_package_complete)
{
    const ProtoOracle *oracle = &proto_oracles[_i];
    if (!oracle->complete)
        return;
    g_autoptr(Google__Protobuf__FileDescriptorSet) set = their_descriptors(oracle->package);
    for (size_t i = 0; i < set->n_file; i++) {
        const Google__Protobuf__FileDescriptorProto *file = set->file[i];
        if (g_strv_contains((const char *const *)oracle->files, file->name))
            assert_all_ours(file->message_type, file->n_message_type, file->package);
    }
}
END_TEST

static gboolean skip_newer_field(const ProtobufCMessageDescriptor *message,
                                 const ProtobufCFieldDescriptor *field)
{
    return proto_oracle_newer_field(message->name, field->id) != NULL;
}

static GBytes *pack(const ProtobufCMessage *message)
{
    gsize size = protobuf_c_message_get_packed_size(message);
    guint8 *data = g_malloc(size ? size : 1);
    ck_assert_uint_eq(protobuf_c_message_pack(message, data), size);
    return g_bytes_new_take(data, size);
}

static GBytes *run_protoc(ProtoSide side, const char *package, const char *mode, GBytes *input)
{
    g_autoptr(GError) error = NULL;
    GBytes *out = proto_oracle_protoc(workdir, side, package, mode, input, &error);
    ck_assert_msg(out, "%s", error ? error->message : "");
    return out;
}

static char *bytes_to_string(GBytes *bytes)
{
    gsize size;
    const char *data = g_bytes_get_data(bytes, &size);
    return size ? g_strndup(data, size) : g_strdup("");
}

/* The first line where two texts differ, for a readable failure. */
static char *first_difference(GBytes *a, GBytes *b)
{
    g_autofree char *a_text = bytes_to_string(a);
    g_autofree char *b_text = bytes_to_string(b);
    g_auto(GStrv) a_lines = g_strsplit(a_text, "\n", -1);
    g_auto(GStrv) b_lines = g_strsplit(b_text, "\n", -1);
    guint i = 0;
    while (a_lines[i] && b_lines[i] && g_str_equal(a_lines[i], b_lines[i]))
        i++;
    return g_strdup_printf("line %u: '%s' vs '%s'", i + 1, a_lines[i] ? a_lines[i] : "(end)",
                           b_lines[i] ? b_lines[i] : "(end)");
}

/* TRUE when protoc's text has a top-level line for field @name ("name: ..." or "name {"). */
static gboolean text_has_field(const char *text, const char *name)
{
    g_auto(GStrv) lines = g_strsplit(text, "\n", -1);
    for (char **line = lines; *line; line++) {
        const char *rest = g_str_has_prefix(*line, name) ? *line + strlen(name) : NULL;
        if (rest && (g_str_has_prefix(rest, ": ") || g_str_has_prefix(rest, " {")))
            return TRUE;
    }
    return FALSE;
}

START_TEST(test_wire_identity)
{
    const ProtobufCMessageDescriptor *ours = all_message_descriptors[_i];
    const char *package = ours->package_name;
    if (proto_oracle_is_ours_only(package))
        return;
    g_autofree char *decode = g_strconcat("--decode=", ours->name, NULL);
    g_autofree char *encode = g_strconcat("--encode=", ours->name, NULL);

    /* ours -> containerd */
    g_autoptr(ProtobufCMessage) filled = message_fill(ours, FILL_DEPTH, skip_newer_field);
    g_autoptr(GBytes) our_bytes = pack(filled);
    g_autoptr(GBytes) their_text = run_protoc(PROTO_SIDE_ORACLE, package, decode, our_bytes);
    g_autoptr(GBytes) our_text = run_protoc(PROTO_SIDE_OURS, package, decode, our_bytes);
    g_autofree char *difference = first_difference(their_text, our_text);
    ck_assert_msg(g_bytes_equal(their_text, our_text),
                  "%s: containerd and we decode the same bytes differently, %s", ours->name,
                  difference);
    /* the comparison means something only if every field was set and is in the text */
    g_autofree char *text = bytes_to_string(their_text);
    for (unsigned i = 0; i < ours->n_fields; i++) {
        const ProtobufCFieldDescriptor *field = &ours->fields[i];
        ck_assert_msg(skip_newer_field(ours, field) || text_has_field(text, field->name),
                      "%s: field '%s' is missing from containerd's decoding:\n%s", ours->name,
                      field->name, text);
    }

    /* containerd -> ours */
    g_autoptr(GBytes) their_bytes = run_protoc(PROTO_SIDE_ORACLE, package, encode, their_text);
    ck_assert_msg(g_bytes_equal(their_bytes, our_bytes),
                  "%s: containerd encodes the same content differently (%zu bytes, ours %zu)",
                  ours->name, g_bytes_get_size(their_bytes), g_bytes_get_size(our_bytes));
    gsize size;
    const guint8 *data = g_bytes_get_data(their_bytes, &size);
    g_autoptr(ProtobufCMessage) unpacked = protobuf_c_message_unpack(ours, NULL, size, data);
    ck_assert_msg(unpacked, "%s: our code cannot unpack containerd's encoding", ours->name);
    ck_assert_msg(!message_has_unknown_fields(unpacked),
                  "%s: containerd's encoding has fields we do not know", ours->name);
    g_autoptr(GBytes) repacked = pack(unpacked);
    ck_assert_msg(g_bytes_equal(repacked, their_bytes), "%s: unpack + pack changes the bytes",
                  ours->name);
}
END_TEST

static int oracle_count(void)
{
    int n = 0;
    while (proto_oracles[n].package)
        n++;
    return n;
}

static Suite *conformance_suite(void)
{
    Suite *suite = suite_create("proto-conformance");
    TCase *schema = tcase_create("schema");
    tcase_set_timeout(schema, 60);
    tcase_add_loop_test(schema, test_message_schema, 0, G_N_ELEMENTS(all_message_descriptors) - 1);
    tcase_add_loop_test(schema, test_enum_schema, 0, G_N_ELEMENTS(all_enum_descriptors) - 1);
    tcase_add_loop_test(schema, test_service_schema, 0, G_N_ELEMENTS(all_service_descriptors) - 1);
    tcase_add_loop_test(schema, test_package_complete, 0, oracle_count());
    suite_add_tcase(suite, schema);

    TCase *wire = tcase_create("wire");
    tcase_set_timeout(wire, 60);
    tcase_add_loop_test(wire, test_wire_identity, 0, G_N_ELEMENTS(all_message_descriptors) - 1);
    suite_add_tcase(suite, wire);
    return suite;
}

int main(void)
{
    g_autofree char *missing = proto_oracle_find_missing();
    if (missing)
        test_util_skip(missing);
    g_autoptr(GError) error = NULL;
    workdir = proto_oracle_setup(&error);
    if (!workdir) {
        fprintf(stderr, "setting up the oracle: %s\n", error->message);
        return EXIT_FAILURE;
    }

    int status = test_util_run(conformance_suite(), CK_FORK_GETENV);

    if (!proto_oracle_cleanup(workdir)) {
        fprintf(stderr, "could not remove the work dir '%s'\n", workdir);
        status = EXIT_FAILURE;
    }
    g_free(workdir);
    return status;
}
