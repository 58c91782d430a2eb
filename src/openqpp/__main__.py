from openqpp.cli import main

main()
