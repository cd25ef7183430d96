/* Answering a core request with an error. */
#include "shim-reply.h"

void shim_reply_error(ShimReplyFunc func, gpointer user_data, ShimErrorCode code,
                      const char *format, ...)
{
    va_list args;
    va_start(args, format);
    g_autoptr(GError) error = g_error_new_valist(SHIM_ERROR, code, format, args);
    va_end(args);
    func(NULL, error, user_data);
}
