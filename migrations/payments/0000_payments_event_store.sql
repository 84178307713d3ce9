CREATE TABLE `payments_events` (
	`account_id` text NOT NULL,
	`version` integer NOT NULL,
	`type` text NOT NULL,
	`data` text NOT NULL,
	`occurred_at` integer NOT NULL,
	PRIMARY KEY(`account_id`, `version`)
);
--> statement-breakpoint
CREATE TABLE `payments_snapshots` (
	`account_id` text PRIMARY KEY NOT NULL,
	`version` integer NOT NULL,
	`balance_cents` integer NOT NULL,
	`orders` text NOT NULL,
	`occurred_at` integer NOT NULL
);
--> statement-breakpoint
CREATE TRIGGER `payments_events_no_update` BEFORE UPDATE ON `payments_events`
BEGIN SELECT RAISE(ABORT, 'payments_events is append-only'); END;
--> statement-breakpoint
CREATE TRIGGER `payments_events_no_delete` BEFORE DELETE ON `payments_events`
BEGIN SELECT RAISE(ABORT, 'payments_events is append-only'); END;
