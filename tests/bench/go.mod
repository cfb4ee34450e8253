module github.com/pd-mattermost/mattermost-plugin-pagerduty/tests/bench

go 1.24.11
