/* main.c - the `orders` program: the domain CLI of orders.agg
 * (docs/cli.md), e.g. `orders dispatch PlaceOrder '{"aggregate_id":"O1",
 * "customer":"ada","lines":[{"sku":"A1","qty":2,"price":150}]}'`. */
#include <incident/cli.h>

#include "orders.h"

int main(int argc, char **argv) { return inc_cli_main(&orders_domain, argc, argv); }
