(function(){var greeting="hello";document.documentElement.dataset.greeting=greeting;})();
