/* common-json.h: json-c objects as owning locals, g_autoptr(json_object), freed by dropping the
 * reference. */
#pragma once

#include <glib.h>
#include <json-c/json.h>

G_DEFINE_AUTOPTR_CLEANUP_FUNC(json_object, json_object_put)
