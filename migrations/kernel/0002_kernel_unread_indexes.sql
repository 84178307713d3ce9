DROP INDEX `kernel_deliveries_key`;--> statement-breakpoint
DROP INDEX `kernel_outbox_id`;