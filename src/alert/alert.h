/* Alerting: what happens after a monitor goes down. Pure logic, tested on a
 * virtual clock; the engine and the notifier drive it. One header for the
 * module, reaching the per-topic ones. */
#pragma once
#include "alert/escalation.h"
#include "alert/flap.h"
#include "alert/link.h"
#include "alert/maint.h"
#include "alert/manager.h"
#include "alert/route.h"
#include "alert/stats.h"
