CREATE TABLE `analytics_event_log` (
	`seq` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`event_id` text NOT NULL,
	`type` text NOT NULL,
	`schema_version` integer NOT NULL,
	`time` text NOT NULL,
	`data` text NOT NULL,
	`recorded_at` integer NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `analytics_event_log_event_id_unique` ON `analytics_event_log` (`event_id`);--> statement-breakpoint
CREATE TABLE `analytics_summary` (
	`id` integer PRIMARY KEY NOT NULL,
	`orders_placed` integer NOT NULL,
	`orders_confirmed` integer NOT NULL,
	`orders_payment_failed` integer NOT NULL,
	`orders_cancelled` integer NOT NULL,
	`revenue_cents` integer NOT NULL,
	`refunded_cents` integer NOT NULL
);
