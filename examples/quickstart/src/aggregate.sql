-- Sales per store, from the table the ingest task wrote.
DROP TABLE IF EXISTS IDENTIFIER(:schema || '.sales_by_store');

CREATE TABLE IDENTIFIER(:schema || '.sales_by_store') USING parquet AS
SELECT store, COUNT(*) AS sales, ROUND(SUM(amount), 2) AS revenue
FROM IDENTIFIER(:schema || '.sales')
GROUP BY store;

SELECT * FROM IDENTIFIER(:schema || '.sales_by_store') ORDER BY store;
