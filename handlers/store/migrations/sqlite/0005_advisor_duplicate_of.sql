-- An Advisor recommendation that agrees with one of AzCops's own findings on the same resource
-- is kept (a reviewer wants to see that Azure agrees) but linked to that finding by its rule id
-- and left out of savings totals, so the same saving is never counted twice.
ALTER TABLE recommendations ADD COLUMN duplicate_of TEXT;
