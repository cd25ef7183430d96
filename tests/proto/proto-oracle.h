/* The oracle of the conformance test: containerd's own .proto files (and ttrpc's Go struct tags),
 * which package of ours each one answers for, and protoc run against them or against ours.
 */
#pragma once

#include <glib.h>

#include "descriptor.pb-c.h"

G_BEGIN_DECLS

#define CONFORMANCE_ERROR (conformance_error_quark())
GQuark conformance_error_quark(void);

typedef enum {
    CONFORMANCE_ERROR_PROTOC, /* protoc failed or could not run */
    CONFORMANCE_ERROR_ORACLE, /* an oracle file is unusable */
    CONFORMANCE_ERROR_LAST
} ConformanceError;

/* Whose definitions protoc reads. */
typedef enum { PROTO_SIDE_ORACLE, PROTO_SIDE_OURS, PROTO_SIDE_LAST } ProtoSide;

typedef struct {
    const char *package;      /* protobuf package, e.g. "containerd.task.v2" */
    const char *const *files; /* containerd's .proto files defining it, NULL-terminated */
    gboolean complete;        /* we define every message of those files, not just some */
} ProtoOracle;

/* Every package we share with containerd; the last entry has package NULL. */
extern const ProtoOracle proto_oracles[];

/* The oracle entry for @package, or NULL when containerd has no counterpart. */
const ProtoOracle *proto_oracle_find(const char *package);

/* TRUE for packages of ours that by design have no counterpart (the agent API, the shim's
 * debug service). */
gboolean proto_oracle_is_ours_only(const char *package);

/* A field we define on purpose beyond containerd 1.6 (a later containerd added it). The oracle
 * cannot vouch for it, so containerd's later definition is stated here instead. */
typedef struct {
    const char *message; /* full name */
    guint32 number;
    const char *name;
    ProtobufCType type;
} ProtoNewerField;

/* The entry for field @number of message @message (full name), or NULL. */
const ProtoNewerField *proto_oracle_newer_field(const char *message, guint32 number);

/* The first missing requirement (protoc, containerd's -dev sources, ...) as a sentence, or NULL
 * when everything is there. Caller frees. */
char *proto_oracle_find_missing(void);

/* Creates a temporary work dir holding the oracle files that must be generated (the ttrpc
 * envelope, from ttrpc's types.go). Caller owns the path and removes it with
 * proto_oracle_cleanup(). */
char *proto_oracle_setup(GError **error);
/* Removes what proto_oracle_setup() created; TRUE when nothing is left behind. */
gboolean proto_oracle_cleanup(const char *workdir);

/* Runs protoc with @side's definitions of @package (ours: all our .proto files) and @mode
 * ("--decode=NAME" or "--encode=NAME"), feeding @input on stdin. Returns protoc's stdout;
 * on failure the error quotes protoc's stderr. */
GBytes *proto_oracle_protoc(const char *workdir, ProtoSide side, const char *package,
                            const char *mode, GBytes *input, GError **error);

/* The oracle's definitions of @package with everything they import, as descriptors. */
Google__Protobuf__FileDescriptorSet *proto_oracle_descriptors(const char *workdir,
                                                              const char *package, GError **error);

static inline void proto_oracle_descriptors_free(Google__Protobuf__FileDescriptorSet *set)
{
    google__protobuf__file_descriptor_set__free_unpacked(set, NULL);
}
G_DEFINE_AUTOPTR_CLEANUP_FUNC(Google__Protobuf__FileDescriptorSet, proto_oracle_descriptors_free)

G_END_DECLS
