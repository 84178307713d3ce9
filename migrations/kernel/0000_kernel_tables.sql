CREATE TABLE `kernel_dead_letters` (
	`id` text PRIMARY KEY NOT NULL,
	`consumer` text NOT NULL,
	`queue` text NOT NULL,
	`message_id` text,
	`type` text,
	`payload` text NOT NULL,
	`error` text NOT NULL,
	`attempts` integer NOT NULL,
	`failed_at` integer NOT NULL
);
--> statement-breakpoint
CREATE INDEX `kernel_dead_letters_consumer` ON `kernel_dead_letters` (`consumer`,`failed_at`);--> statement-breakpoint
CREATE TABLE `kernel_deliveries` (
	`seq` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`consumer` text NOT NULL,
	`message_id` text NOT NULL,
	`partition_key` text NOT NULL,
	`envelope` text NOT NULL,
	`attempts` integer DEFAULT 0 NOT NULL,
	`available_at` integer NOT NULL,
	`last_error` text
);
--> statement-breakpoint
CREATE UNIQUE INDEX `kernel_deliveries_message` ON `kernel_deliveries` (`consumer`,`message_id`);--> statement-breakpoint
CREATE INDEX `kernel_deliveries_key` ON `kernel_deliveries` (`consumer`,`partition_key`,`seq`);--> statement-breakpoint
CREATE TABLE `kernel_inbox` (
	`consumer` text NOT NULL,
	`message_id` text NOT NULL,
	`handled_at` integer NOT NULL,
	PRIMARY KEY(`consumer`, `message_id`)
);
--> statement-breakpoint
CREATE TABLE `kernel_outbox` (
	`seq` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`id` text NOT NULL,
	`type` text NOT NULL,
	`partition_key` text NOT NULL,
	`envelope` text NOT NULL,
	`created_at` integer NOT NULL,
	`published_at` integer
);
--> statement-breakpoint
CREATE UNIQUE INDEX `kernel_outbox_id` ON `kernel_outbox` (`id`);--> statement-breakpoint
CREATE INDEX `kernel_outbox_pending` ON `kernel_outbox` (`seq`) WHERE published_at IS NULL;--> statement-breakpoint
CREATE TABLE `kernel_sagas` (
	`name` text NOT NULL,
	`id` text NOT NULL,
	`status` text NOT NULL,
	`step` text NOT NULL,
	`state` text NOT NULL,
	`steps` text NOT NULL,
	`reason` text,
	`correlation_id` text NOT NULL,
	`deadline` integer,
	`version` integer NOT NULL,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL,
	PRIMARY KEY(`name`, `id`)
);
--> statement-breakpoint
CREATE INDEX `kernel_sagas_deadline` ON `kernel_sagas` (`deadline`) WHERE deadline IS NOT NULL;--> statement-breakpoint
CREATE INDEX `kernel_sagas_status` ON `kernel_sagas` (`status`);