from gradtrade.cli import main

main()
