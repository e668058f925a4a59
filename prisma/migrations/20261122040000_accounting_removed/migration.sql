-- A cancelled payout's bill (and vendor credit) deleted from the accounting system.
ALTER TYPE "AccountingSyncStatus" ADD VALUE 'REMOVED';
